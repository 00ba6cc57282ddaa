"""Orchestration on one asyncio loop: scheduler, task lifecycle, checks, recovery."""
