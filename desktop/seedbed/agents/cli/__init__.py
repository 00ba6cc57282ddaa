"""Adapters for coding-agent command lines, and the generic `command` agent."""
