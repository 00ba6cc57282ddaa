"""The application's settings (settings.json in the data dir): read, and saved whole; and
what a window holds beside its board, read with them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from seedbed.core.context import Changed, Context, Done
from seedbed.core.sandboxing import sandbox_by_default
from seedbed.domain.models import AgentProfile, Project, Settings
from seedbed.store import settings as settings_file


def read_settings(ctx: Context) -> Settings:
    """The saved settings, or the defaults when there are none yet."""
    return settings_file.load_settings(ctx.data_dir)


def save_settings(ctx: Context, settings: Settings) -> Done[Settings]:
    """Write them atomically (a crash mid-write leaves the old file)."""
    settings_file.save_settings(ctx.data_dir, settings)
    return Done(value=settings, changed=Changed(settings=True))


class WindowStart(BaseModel):
    """What a window holds beside its board, read in one round trip: the settings, the
    projects and the agent profiles."""

    model_config = ConfigDict(frozen=True)

    settings: Settings
    projects: list[Project]
    profiles: list[AgentProfile]
    sandbox_by_default: bool = False  # a new profile starts sandboxed (core/sandboxing.py)


def window_start(ctx: Context) -> WindowStart:
    """The settings (the defaults when none are saved), the projects and the profiles."""
    return WindowStart(
        settings=read_settings(ctx),
        projects=ctx.store.list_projects(),
        profiles=ctx.store.list_profiles(),
        sandbox_by_default=sandbox_by_default(),
    )
