"""Agent runtimes: each turns its agent's output into domain events."""
