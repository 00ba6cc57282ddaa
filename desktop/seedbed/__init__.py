"""Seedbed: a local-first board for running AI coding agents in parallel."""

__version__ = "0.1.0"
