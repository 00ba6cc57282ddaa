"""Tests of the sandbox around agents (issue 17)."""
