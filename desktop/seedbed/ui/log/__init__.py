"""A run's log: its model, its rendering, the panel, and the foreground tiles of live logs."""
