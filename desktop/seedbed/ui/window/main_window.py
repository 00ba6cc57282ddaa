"""The main window: toolbar, board, the selected task's log, the foreground view."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from seedbed.core import reads
from seedbed.core.tasks import set_foreground
from seedbed.domain.models import Card, Project, Task, TaskState
from seedbed.ui.board.board import Board
from seedbed.ui.common import theme
from seedbed.ui.common.actions import add_action
from seedbed.ui.common.background import BackgroundCall
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.errors import describe_error
from seedbed.ui.common.host import ENGINE, LOST
from seedbed.ui.log.foreground import MAX_TILES, ForegroundView
from seedbed.ui.log.log_view import LogPanel
from seedbed.ui.setup.agent_hint import AgentHint
from seedbed.ui.setup.projects import ProjectAdder, ProjectSelector, has_local_urls
from seedbed.ui.setup.welcome import WelcomePage
from seedbed.ui.window.attention import Attention
from seedbed.ui.window.engine_banner import EngineBanner
from seedbed.ui.window.engine_calls import ThreadStart, stop_runs
from seedbed.ui.window.quit_dialog import QuitAnswer, QuitDialog, QuitPlan, quit_plan
from seedbed.ui.window.startup_probe import STARTUP_PROBE, FirstPaint, PaintProbe
from seedbed.ui.window.task_header import TaskHeader
from seedbed.ui.window.task_windows import TaskWindows, reviewable

if TYPE_CHECKING:
    from seedbed.ui.review.reviewer import ReviewWindow

ICON = Path(__file__).parent.parent / "assets" / "seedbed.svg"
WINDOW_STATE = "window.ini"
# The reads that wait for the first board (what needs you, the agents) are asked once it
# is painted, or after this long (its read failed, the window is not shown).
STARTED_AFTER_MS = 2000


def app_icon() -> QIcon:
    return QIcon(str(ICON))


class MainWindow(QMainWindow):
    """Seedbed's window. Everything slow goes through `context.host`; the window only
    shows what the store says and asks for changes."""

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._needs_you = 0
        self._pending_select = 0
        # Asked before closing with agents running, unless the setting on_quit says what
        # to do (a modal dialog; None: cancelled).
        self.ask_quit: Callable[[int], QuitAnswer | None] = lambda n: QuitDialog.ask(
            self, n, context.host.engine_socket
        )
        self._closing = False  # the runs were dealt with: the next close is the last
        self._stopping = BackgroundCall(ThreadStart(self), self)
        self._stopping.finished.connect(self._on_stopping_finished)
        self._stopping.failed.connect(self._on_stopping_failed)
        self._ui_state = QSettings(str(context.data_dir / WINDOW_STATE), QSettings.Format.IniFormat)

        self.board = Board(context, self)
        if context.project_id is not None:
            # Asked first: the engine reads the cards while the rest of the window is built.
            self.board.load(context.project_id)
        self._started = False  # the first board was painted: see _on_started
        self._board_loaded = False
        self._first_paint = FirstPaint(self.board, lambda: self._board_loaded, self)
        self._first_paint.painted.connect(self._on_started)
        self.windows = TaskWindows(context, self.board, self)
        self.log = LogPanel(context, parent=self)
        # Ctrl+F searches the selected task's log from anywhere in the window.
        self.log.find_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.task_header = TaskHeader(self)
        side = QWidget(self)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 0, 0, 0)
        side_layout.addWidget(self.task_header)
        side_layout.addWidget(self.log, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("board-splitter")
        self.splitter.addWidget(self.board)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.foreground = ForegroundView(context, self)
        self._agents_checked = False
        self.empty = WelcomePage(context, self)  # no project yet: the first run
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.splitter)
        self.pages.addWidget(self.foreground)
        self.pages.addWidget(self.empty)

        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setMargin(8)
        self.banner.hide()
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        self.engine_banner = EngineBanner(
            context.data_dir, context.bridge, central, engine_socket=context.host.engine_socket
        )
        layout.addWidget(self.engine_banner)
        layout.addWidget(self.banner)
        self.agent_hint = AgentHint(context, central)  # a project but no agent that can run
        layout.addWidget(self.agent_hint)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.projects = ProjectSelector(context, self)
        self.adder = ProjectAdder(context, self)
        self._build_toolbar()
        self.engine_label = QLabel()
        self.statusBar().addPermanentWidget(self.engine_label)

        self.board.task_selected.connect(self._on_board_task_selected)
        self.board.task_activated.connect(self._on_board_task_activated)
        self.board.message_posted.connect(self._on_board_message_posted)
        self.board.edit_requested.connect(self.windows.edit_task)
        self.board.discard_requested.connect(self.windows.discard_task)
        self.board.loaded.connect(self._on_board_loaded)
        # Pinned tiles and the header follow the cards, once per burst of changes.
        self._cards_timer = QTimer(self)
        self._cards_timer.setSingleShot(True)
        self._cards_timer.setInterval(0)
        self._cards_timer.timeout.connect(self._on_cards_changed)
        for signal in (
            self.board.model.dataChanged,
            self.board.model.modelReset,
            self.board.model.rowsInserted,
            self.board.model.rowsRemoved,
            self.board.model.rowsMoved,
        ):
            signal.connect(lambda *_args: self._cards_timer.start())
        self.projects.project_selected.connect(self._on_projects_project_selected)
        self.adder.project_added.connect(self._on_adder_project_added)
        self.adder.failed.connect(self._on_adder_failed)
        self.foreground.unpin_requested.connect(self._on_foreground_unpin_requested)
        self.attention = Attention(context, app_icon(), self)
        self.attention.count_changed.connect(self._on_attention_count_changed)
        self.attention.task_requested.connect(self.open_task)
        self.attention.notified.connect(self._on_attention_notified)
        self.attention.failed.connect(self._on_attention_failed)
        context.bridge.mode_changed.connect(self._on_bridge_mode_changed)
        context.bridge.tasks_changed.connect(self._on_bridge_tasks_changed)
        context.catalog.catalog_changed.connect(self._on_catalog_changed)
        context.bridge.engine_back.connect(self._on_bridge_engine_back)
        self.engine_banner.restarted.connect(self._on_engine_banner_restarted)

        self._on_bridge_mode_changed(context.host.mode, "")
        self._show_page()  # the selector read the projects when it was made
        if context.project_id is None:
            self.board.load(None)  # nothing to read: the empty board at once
        self._restore_state()
        self._update_title()
        if os.environ.get(STARTUP_PROBE):
            self._probe = PaintProbe(self.board, self)
        QTimer.singleShot(STARTED_AFTER_MS, self._on_started)

    # -- building --------------------------------------------------------------------

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main", self)
        bar.setObjectName("main-toolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        bar.addWidget(self.projects)
        self.actions_by_name = {
            name: add_action(self, name, getattr(self, f"_on_{name}"))
            for name in (
                "add_project",
                "new_task",
                "next_needs_you",
                "show_board",
                "show_foreground",
                "settings",
                "refresh",
                "quit",
            )
        }
        bar.addAction(self.actions_by_name["add_project"])
        self.empty.add_repository_requested.connect(self.actions_by_name["add_project"].trigger)
        self.empty.settings_requested.connect(self.actions_by_name["settings"].trigger)
        self.agent_hint.settings_requested.connect(self.actions_by_name["settings"].trigger)
        bar.addSeparator()
        bar.addAction(self.actions_by_name["new_task"])
        self.needs_you_button = QToolButton(self)
        self.needs_you_button.setObjectName("needs-you")
        self.needs_you_button.setDefaultAction(self.actions_by_name["next_needs_you"])
        self.needs_you_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.addWidget(self.needs_you_button)
        bar.addSeparator()
        for name in ("show_board", "show_foreground"):
            action = self.actions_by_name[name]
            action.setCheckable(True)
            bar.addAction(action)
        self.actions_by_name["show_board"].setChecked(True)
        bar.addSeparator()
        bar.addAction(self.actions_by_name["settings"])

    # -- the actions (named after the table in actions.py) -----------------------------

    def _on_add_project(self) -> None:
        self.adder.choose_folder(self)

    def _on_new_task(self) -> None:
        if self.context.project_id is None:
            self.show_error("Add a project first (Ctrl+O): tasks belong to a repository.")
            return
        self.windows.new_task(self.context.project_id)

    def _on_next_needs_you(self) -> None:
        task = self.attention.next_after(self.board.selected_task_id())
        if task is not None:
            self.open_task(task.id)
            if reviewable(task):
                self.open_reviewer(task.id)

    def _on_show_board(self) -> None:
        self._show_page(foreground=False)

    def _on_show_foreground(self) -> None:
        self._show_page(foreground=True)

    def _on_settings(self) -> None:
        self.windows.open_settings(self._on_settings_closed)

    def _on_settings_closed(self) -> None:
        self.projects.reload(self.context.project_id)
        # A profile may have been made or mended there.
        if self.pages.currentWidget() is self.empty:
            self.empty.refresh()
        else:
            self.agent_hint.check()

    def _on_refresh(self) -> None:
        self.board.load(self.context.project_id)
        self.attention.refresh()

    def _on_quit(self) -> None:
        self.close()

    @property
    def reviewers(self) -> dict[int, ReviewWindow]:
        """The open reviewer windows, by task."""
        return self.windows.reviewers

    def open_reviewer(self, task_id: int) -> ReviewWindow:
        """The task's diff reviewer, one window per task."""
        return self.windows.open_reviewer(task_id)

    # -- pages, title, banner --------------------------------------------------------

    def _show_page(self, foreground: bool | None = None) -> None:
        if self.context.project_id is None:
            if self.pages.currentWidget() is not self.empty or not self.empty.shown_once:
                self.empty.refresh()
            self.pages.setCurrentWidget(self.empty)
            self.agent_hint.forget()  # the welcome page says it
            return
        if self._started and (self.pages.currentWidget() is self.empty or not self._agents_checked):
            self._agents_checked = True
            self.agent_hint.check()
        if foreground is None:
            foreground = self.pages.currentWidget() is self.foreground
        self.pages.setCurrentWidget(self.foreground if foreground else self.splitter)
        self.actions_by_name["show_board"].setChecked(not foreground)
        self.actions_by_name["show_foreground"].setChecked(foreground)

    def _update_title(self) -> None:
        name = self.projects.currentText()
        title = "Seedbed" + (f" — {name}" if name else "")
        if self._needs_you:
            title += f" — {self._needs_you} need{'s' if self._needs_you == 1 else ''} you"
        self.setWindowTitle(title)
        self.actions_by_name["next_needs_you"].setText(f"Needs you ({self._needs_you})")
        self.actions_by_name["next_needs_you"].setEnabled(self._needs_you > 0)

    @Slot(str, str)
    def _on_bridge_mode_changed(self, mode: str, message: str) -> None:
        if mode == LOST:
            palette = self.palette()
            colour = theme.warning(palette)
            self.banner.setStyleSheet(
                f"QLabel#banner {{ border: 1px solid {colour.name()}; border-radius: 4px; }}"
            )
            self.banner.setText(message or "Another engine runs on this data dir: read-only.")
            self.banner.show()
        else:
            self.banner.hide()
        self._update_engine_label()

    def _update_engine_label(self) -> None:
        mode = self.context.host.mode
        if mode == ENGINE:
            running = self.context.host.running_count()
            limit = self.context.settings.value.max_parallel
            self.engine_label.setText(f"engine: {running} running, at most {limit}")
        elif mode == LOST:
            self.engine_label.setText("engine stopped")
        else:
            self.engine_label.setText("")  # a screenshot: nothing runs, nothing to say

    # -- the selected task -----------------------------------------------------------

    @Slot(int)
    def _on_board_task_selected(self, task_id: int) -> None:
        card = self.board.model.card(task_id)
        self._show_header(card)
        if self.log.task_id != task_id:
            self.log.show_task(task_id if card else None)

    def _show_header(self, card: Card | None) -> None:
        self.task_header.show_card(card)

    @Slot(int)
    def _on_board_task_activated(self, task_id: int) -> None:
        self.log.show_task(task_id)
        self.log.setFocus()
        card = self.board.model.card(task_id)
        if card is not None and reviewable(card.task):
            self.open_reviewer(task_id)

    @Slot(int)
    def open_task(self, task_id: int) -> None:
        """Show a task wherever it is: switch project if needed, select its card."""
        self.showNormal()
        self.raise_()
        self.activateWindow()
        self._show_page(foreground=False)
        if self.board.select_task(task_id):
            return
        self.context.host.call(
            reads.get_task,
            task_id,
            on_done=self._open_task_read,
            # deleted meanwhile, or the engine is gone
            on_error=lambda exc: self.statusBar().showMessage(str(exc), 8000),
            owner=self,
        )

    def _open_task_read(self, task: Task) -> None:
        task_id = task.id
        if self.board.select_task(task_id):
            return
        if task.project_id == self.context.project_id:
            # On this board but not in the model yet (its change is on its way).
            self.board.refresh_tasks([task_id], select=task_id)
            return
        self._pending_select = task_id
        self.projects.reload(task.project_id)
        self._switch_project(task.project_id)

    @Slot()
    def _on_board_loaded(self) -> None:
        pending = self._pending_select
        if pending and self.board.select_task(pending):
            self._pending_select = 0
        self._on_cards_changed()
        self._board_loaded = True

    @Slot()
    def _on_started(self) -> None:
        """The reads that would have held up the first board: what needs you (every
        task), whether an agent can run."""
        if self._started:
            return
        self._started = True
        self.attention.refresh()
        if self.pages.currentWidget() is not self.empty and not self._agents_checked:
            self._agents_checked = True
            self.agent_hint.check()

    @Slot(str, bool)
    def _on_board_message_posted(self, message: str, error: bool) -> None:
        self.statusBar().showMessage(("⚠ " if error else "") + message, 10_000 if error else 5000)

    @Slot(int)
    def _on_attention_count_changed(self, count: int) -> None:
        self._needs_you = count
        self._update_title()

    @Slot(int, str, str)
    def _on_attention_notified(self, _task_id: int, title: str, _body: str) -> None:
        self.statusBar().showMessage(title, 10_000)
        if not self.isActiveWindow():
            QApplication.alert(self)

    @Slot(str)
    def _on_attention_failed(self, message: str) -> None:
        self._on_board_message_posted(message, True)

    @Slot(object)
    def _on_bridge_tasks_changed(self, _task_ids: list[int]) -> None:
        self._update_engine_label()

    def _on_cards_changed(self, *_args: object) -> None:
        pinned = [
            c.task.id
            for c in sorted(self.board.model.cards(), key=lambda c: (c.task.position, c.task.id))
            if c.task.foreground and c.task.state in (TaskState.RUNNING, TaskState.AWAITING_REVIEW)
        ]
        self.foreground.set_tasks(pinned[:MAX_TILES])
        self.actions_by_name["show_foreground"].setText(f"&Foreground ({len(pinned[:MAX_TILES])})")
        current = self.board.selected_card()
        if current is not None:
            self._show_header(current)

    @Slot(int)
    def _on_foreground_unpin_requested(self, task_id: int) -> None:
        if self.context.read_only:
            self.statusBar().showMessage("⚠ Read-only: nothing was changed.", 10_000)
            return
        self.context.host.call(
            set_foreground,
            task_id,
            False,
            on_done=lambda _t: self.board.refresh_tasks([task_id]),
            on_error=lambda error: self._on_board_message_posted(str(error), True),
            owner=self,
        )

    # -- a lost engine ---------------------------------------------------------------

    @Slot(str)
    def _on_engine_banner_restarted(self, _address: str) -> None:
        """An engine answers again (restarted, or its forwarding is back): connect to it."""
        self.context.host.reconnect(
            on_error=lambda error: self.engine_banner.show_lost(describe_error(error)),
            owner=self,
        )

    @Slot()
    def _on_bridge_engine_back(self) -> None:
        """Connected again: what changed meanwhile was not told, so read it all again."""
        self.context.catalog.refresh()  # its answer reloads the projects (catalog_changed)
        self.board.load(self.context.project_id)
        self.attention.refresh()

    # -- projects --------------------------------------------------------------------

    @Slot()
    def _on_catalog_changed(self) -> None:
        """A project added or removed elsewhere (`seedbed project add`), or a profile."""
        self.projects.reload(self.context.project_id)
        if self.context.project_id is None:
            current = self.projects.current_project_id()
            if current is not None:
                self._switch_project(current)

    @Slot(int)
    def _on_projects_project_selected(self, project_id: int) -> None:
        self._switch_project(project_id)

    def _switch_project(self, project_id: int) -> None:
        if project_id == self.context.project_id and self.board.model.rowCount():
            return
        self.board.load(project_id)
        self.log.show_task(None)
        self._show_header(None)
        self._show_page()
        self._update_title()

    @Slot(object)
    def _on_adder_project_added(self, project: Project) -> None:
        self.projects.reload(project.id)
        self._switch_project(project.id)
        self.statusBar().showMessage(f"Added {project.name} ({project.path})", 8000)

    @Slot(str)
    def _on_adder_failed(self, message: str) -> None:
        self.show_error(message)

    def show_error(self, message: str) -> None:
        """In the status bar and in a message box that does not block the GUI thread."""
        self.statusBar().showMessage("⚠ " + message, 10_000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Seedbed", message, parent=self)
        box.setObjectName("error")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if has_local_urls(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """A folder dropped anywhere on the window becomes a project."""
        event.acceptProposedAction()
        self.adder.add_dropped(event.mimeData())

    # -- state across sessions -------------------------------------------------------

    def _restore_state(self) -> None:
        geometry = self._ui_state.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 850)
        splitter = self._ui_state.value("splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        else:
            self.splitter.setSizes([980, 420])  # the board first, the log beside it

    def save_state(self) -> None:
        self._ui_state.setValue("geometry", self.saveGeometry())
        self._ui_state.setValue("splitter", self.splitter.saveState())
        self._ui_state.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """With agents running: stop them or keep them running in the background, as the
        setting on_quit says or as the user answers (remembered if asked to)."""
        if self._closing:
            self.save_state()
            event.accept()
            return
        if self._stopping.busy:  # asked again while the engine is asked to stop the runs
            event.ignore()
            return
        running = self.context.host.running_count()
        plan = quit_plan(running, self.context.settings.value.on_quit)
        if plan is QuitPlan.ASK:
            answer = self.ask_quit(running)
            if answer is None:
                event.ignore()
                return
            plan = QuitPlan(answer.choice.value)
            if answer.remember:
                # Saved by the engine before the window goes: the choice is not lost with
                # the window's connection.
                event.ignore()
                self.setEnabled(False)
                settings = self.context.settings.value
                self.context.settings.save(
                    settings.model_copy(update={"on_quit": answer.choice}),
                    on_done=lambda _saved: self._quit(plan, running),
                    on_error=self._on_stopping_failed_error,
                    owner=self,
                )
                return
        if plan is QuitPlan.STOP:
            event.ignore()
            self._quit(plan, running)
            return
        self.save_state()
        event.accept()

    def _quit(self, plan: QuitPlan, running: int) -> None:
        """Carry out the answer: stop the runs through the engine (off the GUI thread; the
        window closes when it answered), or close."""
        if plan is QuitPlan.STOP:
            self.setEnabled(False)
            self.statusBar().showMessage(f"Stopping {running} agent{'s' if running != 1 else ''}…")
            self._stopping.run(stop_runs, self.context.data_dir, self.context.host.engine_socket)
            return
        self._close_now()

    def _on_stopping_failed_error(self, error: BaseException) -> None:
        self._on_stopping_failed(str(error))

    @Slot(object)
    def _on_stopping_finished(self, _stopped: object) -> None:
        self._close_now()

    @Slot(str)
    def _on_stopping_failed(self, message: str) -> None:
        self.setEnabled(True)
        self.show_error(f"The agents could not be stopped: {message}")

    def _close_now(self) -> None:
        self._closing = True
        self.close()
