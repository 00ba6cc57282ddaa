"""What the window's parts share, passed explicitly (never a global)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from seedbed.core.app_settings import read_settings, save_settings
from seedbed.core.context import Context
from seedbed.core.reads import list_projects
from seedbed.domain.models import Settings
from seedbed.store import Store
from seedbed.ui.common.bridge import Bridge
from seedbed.ui.common.host import ENGINE, SNAPSHOT, EngineHost


class SettingsHolder(QObject):
    """The current settings; `changed(Settings)` after each save."""

    changed = Signal(object)

    def __init__(self, ctx: Context, settings: Settings) -> None:
        super().__init__()
        self.ctx = ctx
        self.value = settings

    def save(self, settings: Settings) -> None:
        save_settings(self.ctx, settings)
        self.value = settings
        self.changed.emit(settings)


@dataclass
class AppContext:
    """The data dir, the Context the application layer's verbs are called with
    (core/context.py; its store serves short reads on the GUI thread), the engine host,
    the bridge and the settings. Writes and anything slow go through `host.call`."""

    data_dir: Path
    core: Context
    bridge: Bridge
    host: EngineHost
    settings: SettingsHolder
    project_id: int | None = field(default=None)

    @property
    def store(self) -> Store:
        """The verbs' store, for the verbs that do not take a Context yet."""
        return self.core.store

    @classmethod
    def create(
        cls, data_dir: Path, run_engine: bool = True, max_parallel: int | None = None
    ) -> AppContext:
        """Everything the window needs over a data dir; the host is not started yet.
        The first project is the current one."""
        ctx = Context.open(data_dir)
        settings = read_settings(ctx)
        bridge = Bridge()
        host = EngineHost(
            data_dir,
            bridge,
            max_parallel if max_parallel is not None else settings.max_parallel,
            run_engine=run_engine,
        )
        projects = list_projects(ctx)
        return cls(
            data_dir=data_dir,
            core=ctx,
            bridge=bridge,
            host=host,
            settings=SettingsHolder(ctx, settings),
            project_id=projects[0].id if projects else None,
        )

    @property
    def read_only(self) -> bool:
        """True unless this window runs the engine: another engine owns the data dir
        (the window follows it) or the window only takes a screenshot."""
        return self.host.mode != ENGINE

    @property
    def controls_off(self) -> bool:
        """Whether controls that change things are shown disabled: while another engine
        owns the data dir. A snapshot (`gui --screenshot`) is read-only too, but its
        picture shows the window as a user with an engine sees it; nothing clicks it."""
        return self.read_only and self.host.mode != SNAPSHOT
