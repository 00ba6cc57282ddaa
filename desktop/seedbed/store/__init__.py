"""SQLite persistence: schema, migrations and queries. One writer (the engine), readers anywhere."""

from seedbed.store.db import Store

__all__ = ["Store"]
