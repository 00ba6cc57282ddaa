"""The projects and agent profiles, held by the window so dialogs read them at once."""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, Signal, Slot

from seedbed.core.app_settings import WindowStart, window_start
from seedbed.domain.models import AgentProfile, Project
from seedbed.ui.common.bridge import Bridge
from seedbed.ui.common.host import EngineHost

Then = tuple[Callable[[], None], QObject | None]


class Catalog(QObject):
    """The projects and the agent profiles as the engine last said, for the parts of the
    window that list them (the project selector, the task dialog, the settings pages):
    they read them here, at once, and never wait on the engine.

    Read with the settings when the window connects (`window_start`: one round trip),
    then again, off the GUI thread, each time the engine says projects or profiles
    changed, whoever changed them: this window, another one, the command line. Only the
    engine's answers are held, one read at a time, so an older answer never lands after
    a newer one. A part that changed something and wants to show it asks
    `refresh(then=...)`: `then` runs once a read begun after the change has come back.

    Signals:
        catalog_changed(): the projects or the profiles are not what they were.
    """

    catalog_changed = Signal()

    def __init__(self, host: EngineHost, bridge: Bridge, start: WindowStart) -> None:
        super().__init__()
        self.host = host
        self.projects: list[Project] = list(start.projects)
        self.profiles: list[AgentProfile] = list(start.profiles)
        # Where the engine can make a sandbox, a new profile starts with it on.
        self.sandbox_by_default = start.sandbox_by_default
        self._reading = False
        self._again = False
        self._asked: list[Then] = []
        bridge.projects_changed.connect(self._on_bridge_projects_changed)

    def project(self, project_id: int | None) -> Project | None:
        """The project of that id, or None when the catalog holds none such."""
        return next((p for p in self.projects if p.id == project_id), None)

    def refresh(self, then: Callable[[], None] | None = None, owner: QObject | None = None) -> None:
        """Read the projects and the profiles again. `then()` runs on the GUI thread once
        a read begun after this call has come back (after `catalog_changed`, if they
        changed), unless `owner` is deleted by then. A read that fails (the engine went
        away) leaves the catalog as it was, and `then()` still runs."""
        if then is not None:
            self._asked.append((then, owner))
        if self._reading:
            self._again = True
            return
        self._read()

    def _read(self) -> None:
        self._reading = True
        self._again = False
        asked, self._asked = self._asked, []
        self.host.call(
            window_start,
            on_done=lambda start: self._on_read(asked, start),
            on_error=lambda _error: self._on_read(asked, None),
            owner=self,
        )

    def _on_read(self, asked: list[Then], start: WindowStart | None) -> None:
        self._reading = False
        if start is not None and (start.projects, start.profiles) != (self.projects, self.profiles):
            self.projects = list(start.projects)
            self.profiles = list(start.profiles)
            self.catalog_changed.emit()
        if start is not None:
            self.sandbox_by_default = start.sandbox_by_default
        for then, owner in asked:
            if owner is None or shiboken6.isValid(owner):
                then()
        if self._again:
            self._read()

    @Slot()
    def _on_bridge_projects_changed(self) -> None:
        self.refresh()
