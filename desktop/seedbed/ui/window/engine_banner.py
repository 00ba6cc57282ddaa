"""The banner a window shows when its engine process stopped, with a Restart button (a
Check again button for an engine of another machine, which the window never starts)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from seedbed.ui.common import theme
from seedbed.ui.common.background import BackgroundCall, Start
from seedbed.ui.common.bridge import Bridge
from seedbed.ui.window.engine_calls import ThreadStart, reach_forwarded, restart_engine


class EngineBanner(QFrame):
    """ "The engine of DATA_DIR stopped (why). [Restart engine]".

    Shown on the bridge's `engine_lost(str)`; hidden on `engine_back()` or once the
    engine it restarted answers. Restarting runs `service.launch.ensure_engine` off the
    GUI thread (a thread of its own: the engine host has no engine to call through).
    With `engine_socket` (a socket forwarded from another machine) nothing is started
    here: "Check again" only asks whether that engine answers once more.

    Signals:
        restarted(str): an engine answers again, at this address.
    """

    restarted = Signal(str)

    def __init__(
        self,
        data_dir: Path,
        bridge: Bridge,
        parent: QWidget,
        start: Start | None = None,
        engine_socket: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("engine-banner")
        self.data_dir = data_dir
        self.engine_socket = engine_socket
        remote = engine_socket is not None
        self.where = f"The engine at {engine_socket}" if remote else f"The engine of {data_dir}"
        colour = theme.warning(self.palette())
        self.setStyleSheet(
            f"QFrame#engine-banner {{ border: 1px solid {colour.name()}; border-radius: 4px; }}"
        )
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        button = "&Restart engine" if engine_socket is None else "&Check again"
        self.restart_button = QPushButton(button, self)
        self.restart_button.clicked.connect(self.restart)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.restart_button)
        self._call = BackgroundCall(start or ThreadStart(self), self)
        self._call.finished.connect(self._on_call_finished)
        self._call.failed.connect(self._on_call_failed)
        bridge.engine_lost.connect(self.show_lost)
        bridge.engine_back.connect(self._on_bridge_engine_back)
        self.hide()

    @Slot(str)
    def show_lost(self, reason: str) -> None:
        why = f" ({reason})" if reason else ""
        self.label.setText(f"{self.where} stopped{why}.")
        self.restart_button.setEnabled(not self._call.busy)
        self.show()

    @Slot()
    def restart(self) -> None:
        self.restart_button.setEnabled(False)
        if self.engine_socket is not None:
            self.label.setText(f"Asking the engine at {self.engine_socket}…")
            self._call.run(reach_forwarded, self.data_dir, self.engine_socket)
            return
        self.label.setText(f"Starting the engine of {self.data_dir}…")
        self._call.run(restart_engine, self.data_dir)

    @Slot(object)
    def _on_call_finished(self, address: object) -> None:
        self.hide()
        self.restarted.emit(str(address))

    @Slot(str)
    def _on_call_failed(self, message: str) -> None:
        failed = "did not start" if self.engine_socket is None else "does not answer"
        self.label.setText(f"{self.where} {failed}: {message}")
        self.restart_button.setEnabled(True)

    @Slot()
    def _on_bridge_engine_back(self) -> None:
        self._call.drop()
        self.restart_button.setEnabled(True)
        self.hide()
