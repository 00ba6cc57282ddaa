"""What the window's parts share, passed explicitly (never a global)."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, Signal, Slot

from seedbed.core.app_settings import WindowStart, read_settings, save_settings, window_start
from seedbed.domain.models import Settings
from seedbed.ui.common.bridge import Bridge, Done, Failed
from seedbed.ui.common.catalog import Catalog
from seedbed.ui.common.host import ENGINE, SNAPSHOT, EngineHost


class SettingsHolder(QObject):
    """The current settings (as the engine has them); `changed(Settings)` after each save."""

    changed = Signal(object)

    def __init__(self, host: EngineHost, settings: Settings) -> None:
        super().__init__()
        self.host = host
        self.value = settings
        self._reading = False

    def follow(self, bridge: Bridge) -> None:
        """Keep `value` current when any client saves the settings (the engine says so)."""
        bridge.settings_changed.connect(self._on_bridge_settings_changed)

    @Slot()
    def _on_bridge_settings_changed(self) -> None:
        if self._reading:
            return
        self._reading = True
        self.host.call(read_settings, on_done=self._on_read, on_error=self._on_failed, owner=self)

    def _on_read(self, settings: Settings) -> None:
        self._reading = False
        if settings != self.value:
            self.value = settings
            self.changed.emit(settings)

    def _on_failed(self, _error: BaseException) -> None:
        self._reading = False  # the engine went away: the next word reads again

    def save(
        self,
        settings: Settings,
        on_done: Done | None = None,
        on_error: Failed | None = None,
        owner: QObject | None = None,
    ) -> None:
        """Have the engine save them; `on_done(settings)` once it has (GUI thread), and
        neither callback once `owner` is deleted."""

        def wanted() -> bool:
            return owner is None or shiboken6.isValid(owner)

        def saved(_done: object) -> None:
            self.value = settings
            self.changed.emit(settings)
            if on_done is not None and wanted():
                on_done(settings)

        def failed(error: BaseException) -> None:
            if on_error is not None and wanted():
                on_error(error)

        self.host.call(save_settings, settings, on_done=saved, on_error=failed, owner=self)


@dataclass
class AppContext:
    """The data dir, the engine host (the window's only way to its data: verbs called
    over the engine's API), the bridge, the settings and the catalog (the projects and
    the profiles). The window holds no store: it reads nothing from SQLite itself."""

    data_dir: Path
    bridge: Bridge
    host: EngineHost
    settings: SettingsHolder
    catalog: Catalog
    project_id: int | None = field(default=None)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        snapshot: bool = False,
        found: Future[bool] | None = None,
        engine_socket: str | None = None,
    ) -> AppContext:
        """Connect to the engine of `data_dir` (starting it when none runs, unless `found`
        says it is being found already: see EngineHost), or to the one at `engine_socket`
        (else SEEDBED_ENGINE_SOCKET; never started here), and read the settings, the
        projects and the profiles as part of connecting: the first project is the current
        one. Blocks until connected (before the window shows). Raises what kept it from
        connecting."""
        bridge = Bridge()
        host = EngineHost(
            data_dir, bridge, snapshot=snapshot, found=found, engine_socket=engine_socket
        )
        start: WindowStart = host.start(first=window_start)
        holder = SettingsHolder(host, start.settings)
        holder.follow(bridge)
        return cls(
            data_dir=data_dir,
            bridge=bridge,
            host=host,
            settings=holder,
            catalog=Catalog(host, bridge, start),
            project_id=start.projects[0].id if start.projects else None,
        )

    def close(self) -> None:
        """Disconnect from the engine (it and its runs go on) and let Qt delete the
        context's own objects on the GUI thread: were the garbage collector to free them
        on another thread (the host's, a worker's), Qt would crash."""
        self.host.stop()
        self.bridge.deleteLater()
        self.settings.deleteLater()
        self.catalog.deleteLater()

    @property
    def read_only(self) -> bool:
        """True unless the window can change things: the engine went away, or the window
        only takes a screenshot."""
        return self.host.mode != ENGINE

    @property
    def controls_off(self) -> bool:
        """Whether controls that change things are shown disabled: while the engine is
        gone. A snapshot (`gui --screenshot`) is read-only too, but its picture shows the
        window as a user with an engine sees it; nothing clicks it."""
        return self.read_only and self.host.mode != SNAPSHOT
