"""The application's settings (settings.json in the data dir): read, and saved whole."""

from __future__ import annotations

from seedbed.core.context import Changed, Context, Done
from seedbed.domain.models import Settings
from seedbed.store import settings as settings_file


def read_settings(ctx: Context) -> Settings:
    """The saved settings, or the defaults when there are none yet."""
    return settings_file.load_settings(ctx.data_dir)


def save_settings(ctx: Context, settings: Settings) -> Done[Settings]:
    """Write them atomically (a crash mid-write leaves the old file)."""
    settings_file.save_settings(ctx.data_dir, settings)
    return Done(value=settings, changed=Changed(settings=True))
