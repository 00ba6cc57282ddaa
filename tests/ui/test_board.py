"""The board over a real engine: drag and drop between every pair of columns, the
keyboard and context-menu equivalents, refusals that show."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QImage,
    QPaintEvent,
    QRegion,
)
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from seedbed.core import merging
from seedbed.domain.models import Phase, Task, TaskState
from seedbed.ui.board import board_view
from seedbed.ui.board.board import Board
from seedbed.ui.board.board_model import Role
from seedbed.ui.board.card_delegate import CardDelegate
from seedbed.ui.board.moves import COLUMNS
from seedbed.ui.common import format as fmt
from seedbed.ui.common.context import AppContext
from tests.conftest import SeedbedCli, git
from tests.ui.conftest import ThreadEngine

RUN_TIMEOUT_MS = 30_000


def drag_event(kind: type[QDragMoveEvent], pos: QPoint, mime: QMimeData) -> QDragMoveEvent:
    """A drag enter or move event; Qt 6.12 wants a QPointF where 6.11 had only QPoint."""
    args = (
        Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    try:
        return kind(QPointF(pos), *args)
    except TypeError:
        return kind(pos, *args)


class Harness:
    def __init__(self, qtbot: QtBot, context: AppContext, seedbed: SeedbedCli) -> None:
        self.qtbot = qtbot
        self.context = context
        self.seedbed = seedbed
        self.board = Board(context)
        qtbot.addWidget(self.board)
        self.board.resize(1300, 700)
        self.board.show()
        qtbot.waitExposed(self.board)
        self.messages: list[tuple[str, bool]] = []
        self.board.message_posted.connect(lambda m, e: self.messages.append((m, e)))
        self.confirmations: list[str] = []
        self.answer = True
        self.board.confirm = self._confirm
        with qtbot.waitSignal(self.board.loaded):
            self.board.load(context.project_id)

    def _confirm(self, text: str) -> bool:
        self.confirmations.append(text)
        return self.answer

    def add(self, title: str, profile: str, start: bool = False) -> int:
        args = ["task", "add", "--project", "demo", "--title", title, "--profile", profile]
        result = self.seedbed.ok(*args, *(["--start"] if start else []), "--json").json()
        task_id = int(result["id"])
        self.qtbot.waitUntil(lambda: self.board.model.card(task_id) is not None)
        return task_id

    def state(self, task_id: int) -> TaskState:
        return self.context.store.get_task(task_id).state

    def wait_state(self, task_id: int, state: TaskState) -> None:
        self.qtbot.waitUntil(lambda: self.state(task_id) is state, timeout=RUN_TIMEOUT_MS)
        # … and the card follows the store.
        self.qtbot.waitUntil(
            lambda: (
                (card := self.board.model.card(task_id)) is not None and card.task.state is state
            ),
            timeout=5000,
        )

    def drop(self, task_id: int, target: TaskState, before_id: int | None = None) -> None:
        view = self.board.columns[target]
        mime = self.board.model.mimeData([self.board.model.index_of(task_id)])
        if before_id is not None:
            proxy = view.column_model()
            index = proxy.mapFromSource(self.board.model.index_of(before_id))
            pos = view.visualRect(index).topLeft() + QPoint(10, 4)
        else:
            pos = QPoint(10, view.viewport().height() - 4)
        action, buttons, mods = (
            Qt.DropAction.MoveAction,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        viewport = view.viewport()
        QApplication.sendEvent(viewport, drag_event(QDragEnterEvent, pos, mime))
        QApplication.sendEvent(viewport, drag_event(QDragMoveEvent, pos, mime))
        QApplication.sendEvent(viewport, QDropEvent(QPointF(pos), action, mime, buttons, mods))

    def planned_order(self) -> list[int]:
        return [t.id for t in self.context.store.list_tasks(states=[TaskState.PLANNED])]

    def column_ids(self, state: TaskState) -> list[int]:
        proxy = self.board.columns[state].column_model()
        return [proxy.index(r, 0).data(Role.TASK_ID) for r in range(proxy.rowCount())]


@pytest.fixture
def harness(
    qtbot: QtBot, seedbed: SeedbedCli, project: str, command_profile, app_context: AppContext
) -> Iterator[Harness]:
    command_profile("quick", "echo done > out.txt")
    command_profile("slow", "sleep 30")
    yield Harness(qtbot, app_context, seedbed)


def test_dragging_within_planned_reorders_the_queue(harness: Harness) -> None:
    a, b, c = (harness.add(name, "quick") for name in "ABC")
    harness.drop(c, TaskState.PLANNED, before_id=a)
    harness.qtbot.waitUntil(lambda: harness.planned_order() == [c, a, b])
    harness.qtbot.waitUntil(lambda: harness.column_ids(TaskState.PLANNED) == [c, a, b])
    harness.drop(c, TaskState.PLANNED)  # on the empty space below: last
    harness.qtbot.waitUntil(lambda: harness.planned_order() == [a, b, c])
    # The keys act on what the board shows: wait until it shows the new order.
    harness.qtbot.waitUntil(lambda: harness.column_ids(TaskState.PLANNED) == [a, b, c])
    # The keyboard equivalent: Alt+Up on the selected card.
    assert harness.board.select_task(c)
    harness.qtbot.keyClick(
        harness.board.columns[TaskState.PLANNED], Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier
    )
    harness.qtbot.waitUntil(lambda: harness.planned_order() == [a, c, b])


def test_planned_to_running_starts_and_running_to_planned_requeues(harness: Harness) -> None:
    slow = harness.add("Slow one", "slow")
    harness.drop(slow, TaskState.RUNNING)
    harness.wait_state(slow, TaskState.RUNNING)
    harness.qtbot.waitUntil(
        lambda: harness.context.store.get_task(slow).phase.value == "implementing",
        timeout=RUN_TIMEOUT_MS,
    )
    # Declined: nothing happens.
    harness.answer = False
    harness.drop(slow, TaskState.PLANNED)
    assert len(harness.confirmations) == 1 and "committed" in harness.confirmations[0]
    assert harness.state(slow) is TaskState.RUNNING
    harness.answer = True
    harness.drop(slow, TaskState.PLANNED)
    harness.wait_state(slow, TaskState.PLANNED)


def test_review_to_merged_approves_and_review_to_running_resumes(
    harness: Harness, repo: Path
) -> None:
    done = harness.add("Write out.txt", "quick", start=True)
    harness.wait_state(done, TaskState.AWAITING_REVIEW)
    harness.drop(done, TaskState.RUNNING)  # resume: the agent runs again
    harness.qtbot.waitUntil(
        lambda: len(harness.context.store.list_runs(done)) == 2, timeout=RUN_TIMEOUT_MS
    )
    harness.wait_state(done, TaskState.AWAITING_REVIEW)
    harness.drop(done, TaskState.MERGED)
    assert "main" in harness.confirmations[-1]
    harness.wait_state(done, TaskState.MERGED)
    assert (repo / "out.txt").read_text() == "done\n"


def test_a_failed_merge_shows_its_message_and_the_card_stays(harness: Harness, repo: Path) -> None:
    task = harness.add("Write out.txt", "quick", start=True)
    harness.wait_state(task, TaskState.AWAITING_REVIEW)
    (repo / "out.txt").write_text("mine, not committed\n")  # the merge would overwrite it
    harness.drop(task, TaskState.MERGED)
    harness.qtbot.waitUntil(lambda: harness.board.findChild(QMessageBox, "move-failed") is not None)
    box = harness.board.findChild(QMessageBox, "move-failed")
    assert "out.txt" in box.text()
    assert any("out.txt" in m and error for m, error in harness.messages)
    assert harness.state(task) is TaskState.AWAITING_REVIEW
    assert harness.board.model.card(task).task.state is TaskState.AWAITING_REVIEW
    assert (repo / "out.txt").read_text() == "mine, not committed\n"
    box.close()


def test_every_illegal_drop_is_refused_visibly(
    harness: Harness, seedbed: SeedbedCli, repo: Path
) -> None:
    merged = harness.add("Merged", "quick", start=True)
    waiting = harness.add("Waiting", "quick", start=True)
    harness.wait_state(merged, TaskState.AWAITING_REVIEW)
    harness.wait_state(waiting, TaskState.AWAITING_REVIEW)
    git(repo, "rm", "-q", "--cached", "--ignore-unmatch", "out.txt")
    seedbed.ok("task", "approve", str(merged))
    harness.wait_state(merged, TaskState.MERGED)
    running = harness.add("Running", "slow", start=True)
    harness.wait_state(running, TaskState.RUNNING)
    planned = harness.add("Planned", "quick")
    by_state = {
        TaskState.PLANNED: planned,
        TaskState.RUNNING: running,
        TaskState.AWAITING_REVIEW: waiting,
        TaskState.MERGED: merged,
    }
    legal = {
        (TaskState.PLANNED, TaskState.RUNNING),
        (TaskState.RUNNING, TaskState.PLANNED),
        (TaskState.AWAITING_REVIEW, TaskState.RUNNING),
        (TaskState.AWAITING_REVIEW, TaskState.MERGED),
    }
    refused = 0
    for source, target in itertools.product(COLUMNS, COLUMNS):
        if (source, target) in legal or source is target:
            continue
        task_id = by_state[source]
        harness.messages.clear()
        view = harness.board.columns[target]
        harness.drop(task_id, target)
        assert harness.messages and harness.messages[-1][1], (source, target)
        assert "cannot go from" in harness.messages[-1][0]
        assert harness.state(task_id) is source, (source, target)
        assert view._hover is None  # the red outline goes once the drop is over
        refused += 1
    assert refused == 8
    assert not harness.confirmations


def test_hovering_an_illegal_column_outlines_it_in_red(harness: Harness) -> None:
    planned = harness.add("Planned", "quick")
    view = harness.board.columns[TaskState.MERGED]
    mime = harness.board.model.mimeData([harness.board.model.index_of(planned)])
    pos = QPoint(20, 20)
    QApplication.sendEvent(view.viewport(), drag_event(QDragEnterEvent, pos, mime))
    QApplication.sendEvent(view.viewport(), drag_event(QDragMoveEvent, pos, mime))
    assert view._hover and "nothing to merge" in view._hover
    assert harness.messages[-1][1]
    image = view.viewport().grab().toImage()
    corner = image.pixelColor(1, image.height() // 2)
    assert corner.red() > 150 and corner.green() < 120  # the danger red
    ok_view = harness.board.columns[TaskState.RUNNING]
    QApplication.sendEvent(ok_view.viewport(), drag_event(QDragEnterEvent, pos, mime))
    assert ok_view._hover == ""


def test_keyboard_and_context_menu_match_the_drags(harness: Harness) -> None:
    task = harness.add("By keyboard", "quick")
    assert harness.board.select_task(task)
    harness.qtbot.keyClick(
        harness.board.columns[TaskState.PLANNED],
        Qt.Key.Key_Right,
        Qt.KeyboardModifier.ControlModifier,
    )
    harness.wait_state(task, TaskState.AWAITING_REVIEW)
    assert harness.board.select_task(task)
    menu = harness.board._menu_for(harness.board.model.card(task))
    assert menu[0] == "approve_task" and "discard_task" in menu
    harness.board.actions_by_name["approve_task"].trigger()
    harness.wait_state(task, TaskState.MERGED)
    assert len(harness.confirmations) == 1


def test_a_fifth_pin_is_refused(harness: Harness) -> None:
    ids = [harness.add(f"Watch {i}", "quick") for i in range(5)]
    for task_id in ids[:4]:
        assert harness.board.select_task(task_id)
        harness.board.actions_by_name["pin_task"].trigger()
        harness.qtbot.waitUntil(lambda t=task_id: harness.board.model.card(t).task.foreground)
    assert harness.board.select_task(ids[4])
    harness.messages.clear()
    harness.board.actions_by_name["pin_task"].trigger()
    harness.qtbot.waitUntil(lambda: bool(harness.messages))
    assert harness.messages[-1][1] and "unpin one first" in harness.messages[-1][0]
    assert not harness.context.store.get_task(ids[4]).foreground
    # Unpinning is always allowed, and then the fifth fits.
    assert harness.board.select_task(ids[0])
    harness.board.actions_by_name["pin_task"].trigger()
    harness.qtbot.waitUntil(lambda: not harness.board.model.card(ids[0]).task.foreground)
    assert harness.board.select_task(ids[4])
    harness.board.actions_by_name["pin_task"].trigger()
    harness.qtbot.waitUntil(lambda: harness.board.model.card(ids[4]).task.foreground)


def test_a_running_card_shows_its_diff_as_it_grows(harness: Harness, engine: ThreadEngine) -> None:
    engine.process.engine.diff_every = 0.2
    harness.seedbed.ok(
        "profile", "add", "writer", "--kind", "command", "--command",
        "printf 'a\\nb\\n' > new.txt; sleep 20",
    )  # fmt: skip
    task = harness.add("Write then think", "writer", start=True)
    harness.qtbot.waitUntil(
        lambda: (
            (card := harness.board.model.card(task)) is not None
            and card.task.state is TaskState.RUNNING
            and (card.task.diff_files, card.task.diff_insertions) == (1, 2)
        ),
        timeout=RUN_TIMEOUT_MS,
    )


def test_a_conflicting_merge_shows_its_message_and_the_card_stays(
    harness: Harness, seedbed: SeedbedCli, repo: Path
) -> None:
    seedbed.ok(
        "profile", "add", "same-file", "--kind", "command", "--command",
        "echo \"task $SEEDBED_TASK_ID\" > same.txt",
    )  # fmt: skip
    first = harness.add("First", "same-file", start=True)
    second = harness.add("Second", "same-file", start=True)
    harness.wait_state(first, TaskState.AWAITING_REVIEW)
    harness.wait_state(second, TaskState.AWAITING_REVIEW)
    seedbed.ok("task", "approve", str(first))
    harness.wait_state(first, TaskState.MERGED)
    harness.drop(second, TaskState.MERGED)
    harness.qtbot.waitUntil(lambda: harness.board.findChild(QMessageBox, "move-failed") is not None)
    box = harness.board.findChild(QMessageBox, "move-failed")
    assert "conflict" in box.text() and "same.txt" in box.text()
    harness.qtbot.waitUntil(lambda: harness.board.model.card(second).task.phase.value == "conflict")
    assert harness.board.model.card(second).task.state is TaskState.AWAITING_REVIEW
    assert (repo / "same.txt").read_text() == f"task {first}\n"
    box.close()


# -- the diff budget and the conflict radar on the cards --------------------------------


def test_two_tasks_changing_one_file_both_cards_say_so(
    harness: Harness, seedbed: SeedbedCli
) -> None:
    seedbed.ok(
        "profile", "add", "same-file", "--kind", "command", "--command",
        "echo \"task $SEEDBED_TASK_ID\" > same.txt",
    )  # fmt: skip
    first = harness.add("First", "same-file", start=True)
    second = harness.add("Second", "same-file", start=True)
    alone = harness.add("Alone", "quick", start=True)
    for task in (first, second, alone):
        harness.wait_state(task, TaskState.AWAITING_REVIEW)
    model = harness.board.model

    def overlaps(task_id: int) -> object:
        return model.index_of(task_id).data(Role.OVERLAPS)

    # Within the radar's interval (5 s) after the last change, plus the git work.
    harness.qtbot.waitUntil(
        lambda: (
            overlaps(first) == [(second, ["same.txt"])]
            and overlaps(second) == [(first, ["same.txt"])]
        ),
        timeout=harness.board.radar_interval_ms + 10_000,
    )
    assert overlaps(alone) == []
    tip = model.index_of(first).data(Qt.ItemDataRole.ToolTipRole)
    assert f"#{second}" in tip and "same.txt" in tip
    # Once one is merged, the other has nothing left to race with.
    seedbed.ok("task", "approve", str(first))
    harness.wait_state(first, TaskState.MERGED)
    harness.qtbot.waitUntil(
        lambda: overlaps(second) == [], timeout=harness.board.radar_interval_ms + 10_000
    )


def test_a_stale_radar_answer_is_dropped(harness: Harness) -> None:
    task = harness.add("Any", "quick")
    generation = harness.board.radar_call.generation
    harness.board.radar_call.drop()  # a newer question was asked meanwhile
    harness.board.radar_call.deliver(generation, {task: [(99, ["x.py"])]})
    assert harness.board.model.index_of(task).data(Role.OVERLAPS) == []


def test_a_card_over_its_projects_budget_says_so(
    harness: Harness, seedbed: SeedbedCli, repo: Path
) -> None:
    store = harness.context.store
    project = store.find_project("demo")
    store.update_project(project.model_copy(update={"diff_budget": 1}))
    seedbed.ok(
        "profile", "add", "three-lines", "--kind", "command", "--command",
        "printf 'a\\nb\\nc\\n' > big.txt",
    )  # fmt: skip
    big = harness.add("Big", "three-lines", start=True)
    small = harness.add("Small", "quick", start=True)
    harness.wait_state(big, TaskState.AWAITING_REVIEW)
    harness.wait_state(small, TaskState.AWAITING_REVIEW)
    harness.qtbot.waitUntil(lambda: harness.board.model.card(big).task.diff_insertions == 3)
    card = harness.board.model.card(big)
    assert card.diff_budget == 1
    assert fmt.over_budget(card)
    tip = harness.board.model.index_of(big).data(Qt.ItemDataRole.ToolTipRole)
    assert "3 lines, budget 1: consider splitting" in tip
    assert not fmt.over_budget(harness.board.model.card(small))


def test_merging_from_the_board_deletes_the_branch_by_default(harness: Harness, repo: Path) -> None:
    assert harness.context.settings.value.delete_branch_after_merge  # the default
    task = harness.add("Write out.txt", "quick", start=True)
    harness.wait_state(task, TaskState.AWAITING_REVIEW)
    branch = harness.context.store.get_task(task).branch
    assert branch and git(repo, "branch", "--list", branch)
    harness.drop(task, TaskState.MERGED)
    harness.wait_state(task, TaskState.MERGED)
    # The branch goes just after the task is marked merged, on the approve's thread.
    harness.qtbot.waitUntil(lambda: git(repo, "branch", "--list", branch) == "", timeout=10000)
    assert (repo / "out.txt").read_text() == "done\n"


def test_merging_from_the_board_keeps_the_branch_when_set(harness: Harness, repo: Path) -> None:
    settings = harness.context.settings
    settings.value = settings.value.model_copy(update={"delete_branch_after_merge": False})
    task = harness.add("Write out.txt", "quick", start=True)
    harness.wait_state(task, TaskState.AWAITING_REVIEW)
    branch = harness.context.store.get_task(task).branch
    harness.drop(task, TaskState.MERGED)
    harness.wait_state(task, TaskState.MERGED)
    # Its worktree goes just after the task is marked merged (a branch still checked
    # out in one is listed "+ branch"), on the approve's thread; the branch stays.
    assert branch
    harness.qtbot.waitUntil(
        lambda: git(repo, "branch", "--list", branch).strip() == branch, timeout=10000
    )
    assert harness.context.store.get_task(task).branch == branch


def test_an_empty_column_says_what_goes_there(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def grab(state: TaskState) -> QImage:
        return harness.board.columns[state].viewport().grab().toImage()

    def inked_rows(image: QImage) -> int:
        """Rows of the image's top with something drawn on its plain background."""
        background = image.pixelColor(image.width() - 2, image.height() - 2)
        return sum(
            any(image.pixelColor(x, y) != background for x in range(image.width()))
            for y in range(min(image.height(), 80))
        )

    harness.board.show()
    harness.add("Queued", "quick")
    with_text = {state: grab(state) for state in (TaskState.RUNNING, TaskState.PLANNED)}
    assert inked_rows(with_text[TaskState.RUNNING]) > 10
    monkeypatch.setattr(board_view, "EMPTY_TEXT", {})
    assert inked_rows(grab(TaskState.RUNNING)) == 0  # it was the text
    assert grab(TaskState.PLANNED) == with_text[TaskState.PLANNED]  # a card, and no text


def test_three_approves_in_a_row_queue_and_never_break_the_base(
    harness: Harness, repo: Path, command_profile: Callable[[str, str], str]
) -> None:
    """Drop three cards on Merged and walk away: they land one after the other, each
    checked on top of the last; the one that breaks the base is refused, and the board
    keeps reading meanwhile (waiting approves hold no worker the board needs)."""
    store = harness.context.store
    project = store.get_project(harness.context.project_id or 0)
    # The checks fail once both halves of a pair are in one tree.
    check = "sleep 1; ! { [ -f one.txt ] && [ -f two.txt ]; }"
    store.update_project(project.model_copy(update={"check_command": check}))
    command_profile("one", "echo 1 > one.txt")
    command_profile("two", "echo 2 > two.txt")
    command_profile("other", "echo 3 > other.txt")
    ids = [harness.add(title, profile, start=True) for title, profile in
           (("One", "one"), ("Two", "two"), ("Other", "other"))]  # fmt: skip
    for task_id in ids:
        harness.wait_state(task_id, TaskState.AWAITING_REVIEW)

    for task_id in ids:
        harness.board.move(task_id, TaskState.MERGED)
    harness.qtbot.waitUntil(
        lambda: sum(store.get_task(t).phase is Phase.MERGING for t in ids) >= 2, timeout=10_000
    )
    assert harness.board.model.card(ids[1]) is not None
    started = time.monotonic()
    with harness.qtbot.waitSignal(harness.board.loaded, timeout=5_000):
        harness.board.load(harness.context.project_id)
    assert time.monotonic() - started < 3  # not behind the queue

    harness.wait_state(ids[0], TaskState.MERGED)
    harness.wait_state(ids[2], TaskState.MERGED)
    harness.qtbot.waitUntil(
        lambda: store.get_task(ids[1]).phase is Phase.MERGE_CHECKS_FAILED, timeout=RUN_TIMEOUT_MS
    )
    assert (repo / "one.txt").exists() and (repo / "other.txt").exists()
    assert not (repo / "two.txt").exists()


def test_a_merge_tells_the_other_cards_how_far_the_base_moved(
    harness: Harness, command_profile: Callable[[str, str], str]
) -> None:
    """Approving one card moves the base under the others: their cards say so at once,
    not at the next reload of the board."""
    store = harness.context.store
    project = store.get_project(harness.context.project_id or 0)
    store.update_project(project.model_copy(update={"check_command": "true"}))
    command_profile("one", "echo 1 > one.txt")
    command_profile("two", "echo 2 > two.txt")
    first, second = (harness.add(t, p, start=True) for t, p in (("One", "one"), ("Two", "two")))
    for task_id in (first, second):
        harness.wait_state(task_id, TaskState.AWAITING_REVIEW)
    card = harness.board.model.card(second)
    assert card is not None and card.base_moved == 0

    harness.board.move(first, TaskState.MERGED)
    harness.wait_state(first, TaskState.MERGED)

    def moved() -> int:
        card = harness.board.model.card(second)
        return -1 if card is None else card.base_moved

    harness.qtbot.waitUntil(lambda: moved() == 1, timeout=5000)
    assert "base +1" in fmt.check_label(harness.board.model.card(second))


def test_queued_tasks_are_counted_apart_from_the_running_ones(
    harness: Harness, seedbed: SeedbedCli
) -> None:
    """Tasks waiting for a slot or for others' merges are not at work: "Running 9" with
    three agents allowed misleads."""
    first = harness.add("Plan first", "quick")
    working = harness.add("Working", "slow", start=True)
    harness.qtbot.waitUntil(
        lambda: harness.context.store.get_task(working).phase.value == "implementing",
        timeout=RUN_TIMEOUT_MS,
    )
    waiting = [harness.add(f"Waiting {n}", "quick") for n in range(2)]
    for task_id in waiting:
        seedbed.ok("task", "wait", str(task_id), "--after", str(first))
        seedbed.ok("task", "start", str(task_id))
    header = harness.board._headers[TaskState.RUNNING]
    harness.qtbot.waitUntil(lambda: header.text() == "Running  1 · 2 queued", timeout=5000)
    proxy = harness.board.columns[TaskState.RUNNING].column_model()
    assert proxy.rowCount() == 3
    seedbed.ok("task", "stop", str(working))
    harness.qtbot.waitUntil(lambda: header.text() == "Running  0 · 2 queued", timeout=5000)


class PaintRegions(QObject):
    """Notes the region of each paint event of a widget."""

    def __init__(self) -> None:
        super().__init__()
        self.regions: list[QRegion] = []

    def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
        if isinstance(event, QPaintEvent):
            self.regions.append(QRegion(event.region()))
        return False


def test_the_seconds_tick_repaints_only_the_elapsed_times(harness: Harness) -> None:
    harness.board._tick.stop()  # ticked by hand below, once the card is still
    task_id = harness.add("Slow", "slow", start=True)
    harness.qtbot.waitUntil(
        lambda: harness.context.store.get_task(task_id).phase.value == "implementing",
        timeout=RUN_TIMEOUT_MS,
    )
    view = harness.board.columns[TaskState.RUNNING]
    delegate = view.itemDelegate()
    assert isinstance(delegate, CardDelegate)
    harness.qtbot.waitUntil(
        lambda: (
            (card := harness.board.model.card(task_id)) is not None
            and card.task.phase.value == "implementing"
            and delegate.elapsed_spot(task_id) is not None
        ),
        timeout=5000,
    )
    harness.qtbot.wait(300)  # the card's own repaints are over
    spot = delegate.elapsed_spot(task_id)
    assert spot is not None
    card = view.visualRect(view.column_model().mapFromSource(harness.board.model.index_of(task_id)))
    paints = PaintRegions()
    view.viewport().installEventFilter(paints)
    harness.board._on_tick_timeout()
    harness.qtbot.waitUntil(lambda: bool(paints.regions), timeout=3000)
    painted = paints.regions[0].boundingRect()
    assert painted == spot.translated(card.topLeft())
    assert painted.height() < card.height() and painted.width() < card.width()
    harness.seedbed.ok("task", "stop", str(task_id))


def test_cards_named_while_a_read_is_on_its_way_are_read_together_after_it(
    harness: Harness,
) -> None:
    """A burst of changes is one read at a time: the first is asked at once, the cards
    named meanwhile in one read after it, and every card ends as the store has it."""
    host = harness.context.host
    ids = [harness.add(f"Card {i}", "quick") for i in range(3)]
    harness.qtbot.waitUntil(lambda: host.pending() == 0)
    # Only the test's own refreshes read the cards (not the engine telling of its writes).
    harness.context.bridge.tasks_changed.disconnect(harness.board._on_bridge_tasks_changed)
    for task_id in ids:
        harness.context.store.update_task(task_id, title=f"Renamed {task_id}")
    for task_id in ids:
        harness.board.refresh_tasks([task_id])
    assert host.pending() == 1
    harness.qtbot.waitUntil(
        lambda: all(
            (card := harness.board.model.card(task_id)) is not None
            and card.task.title == f"Renamed {task_id}"
            for task_id in ids
        ),
        timeout=5000,
    )


def test_a_load_shows_each_columns_first_cards_then_all(
    qtbot: QtBot, project: str, app_context: AppContext
) -> None:
    store = app_context.store
    project_id = store.find_project(project).id
    count = merging.FIRST_CARDS + 3
    for n in range(count):
        store.add_task(Task(project_id=project_id, title=f"Card {n}", base_branch="main"))
    board = Board(app_context)
    qtbot.addWidget(board)
    shown: list[int] = []
    board.model.modelReset.connect(lambda: shown.append(board.model.rowCount()))
    with qtbot.waitSignal(board.loaded):
        board.load(project_id)
    assert shown == [merging.FIRST_CARDS, count]
