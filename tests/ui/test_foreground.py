"""The foreground view: up to four pinned tasks' live logs, tiled."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from seedbed.domain.events import OutputEvent, Stream
from seedbed.domain.models import Phase, Project, Run, RunStatus, Task, TaskState
from seedbed.store import Store
from seedbed.ui.common.context import AppContext
from seedbed.ui.log.foreground import MAX_TILES, ForegroundView


def add_tasks(store: Store, tmp_path: Path, count: int) -> list[int]:
    project = store.add_project(Project(name="fg", path=tmp_path, base_branch="main"))
    ids = []
    for n in range(1, count + 1):
        task = store.add_task(Task(project_id=project.id, title=f"Task {n}", base_branch="main"))
        run = store.add_run(Run(task_id=task.id, number=0, status=RunStatus.SUCCEEDED))
        line = OutputEvent(stream=Stream.STDOUT, line=f"output of task {n}")
        store.append_events(run.id, 0, [(1.0, "output", line.model_dump_json(), True)])
        ids.append(task.id)
    return ids


def make_view(qtbot: QtBot, context: AppContext) -> ForegroundView:
    view = ForegroundView(context)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    return view


def grid_cells(view: ForegroundView) -> dict[int, tuple[int, int, int, int]]:
    cells = {}
    for task_id in view.task_ids():
        tile = view.tile(task_id)
        assert tile is not None
        index = view._grid.indexOf(tile)
        cells[task_id] = view._grid.getItemPosition(index)
    return cells


def test_tiles_one_to_four_pinned_tasks(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path
) -> None:
    ids = add_tasks(app_context.store, tmp_path, 5)
    view = make_view(qtbot, app_context)
    assert view.task_ids() == [] and view.empty.isVisible()
    assert "Pin a running task with P or its context menu" in view.empty.text()

    view.set_tasks(ids[:1])
    assert not view.empty.isVisible()
    assert grid_cells(view) == {ids[0]: (0, 0, 1, 1)}
    tile = view.tile(ids[0])
    assert tile is not None and tile.isVisible()
    # Its header is asked of the engine.
    qtbot.waitUntil(lambda: tile.title.text() == f"#{ids[0]} Task 1")
    assert tile.phase.text() == "planned"
    # A tile is a compact log panel showing the task's newest run.
    assert tile.panel.task_id == ids[0] and not tile.panel.run_box.isVisible()
    qtbot.waitUntil(lambda: tile.panel.model.index(0).data() == "output of task 1")

    view.set_tasks(ids[:2])
    assert grid_cells(view) == {ids[0]: (0, 0, 1, 1), ids[1]: (0, 1, 1, 1)}
    assert view.tile(ids[0]) is tile  # kept, not rebuilt

    view.set_tasks(ids[:3])
    assert grid_cells(view)[ids[2]] == (1, 0, 1, 2)

    view.set_tasks(ids[:4])
    assert grid_cells(view) == {
        ids[0]: (0, 0, 1, 1),
        ids[1]: (0, 1, 1, 1),
        ids[2]: (1, 0, 1, 1),
        ids[3]: (1, 1, 1, 1),
    }
    # A fifth pinned task is ignored: four is what a person can watch.
    view.set_tasks(ids)
    assert view.task_ids() == ids[:MAX_TILES] and view.tile(ids[4]) is None
    assert all(view.tile(t) is not None and view.tile(t).isVisible() for t in ids[:4])

    # Unpinning one keeps the others' tiles; none left shows the empty state again.
    kept = view.tile(ids[1])
    view.set_tasks([ids[1], ids[3]])
    assert view.tile(ids[1]) is kept and view.tile(ids[0]) is None
    assert grid_cells(view) == {ids[1]: (0, 0, 1, 1), ids[3]: (0, 1, 1, 1)}
    view.set_tasks([])
    assert view.task_ids() == [] and view.empty.isVisible()


def test_unpin_asks_and_headers_follow_the_task(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path
) -> None:
    store = app_context.store
    ids = add_tasks(store, tmp_path, 2)
    view = make_view(qtbot, app_context)
    view.set_tasks(ids)
    tile = view.tile(ids[1])
    assert tile is not None
    with qtbot.waitSignal(view.unpin_requested) as unpinned:
        qtbot.mouseClick(tile.unpin_button, Qt.MouseButton.LeftButton)
    assert unpinned.args == [ids[1]]
    assert view.task_ids() == ids  # the window decides; the view only asked

    # A task that changes (another process moved it) gets its header read again.
    store.update_task(ids[1], title="Renamed")
    qtbot.waitUntil(lambda: tile.title.text() == f"#{ids[1]} Renamed", timeout=10_000)
    assert tile.phase.text() == "planned"
    store.move_task(ids[1], TaskState.DISCARDED, Phase.NONE)
    qtbot.waitUntil(lambda: tile.phase.text() == "discarded", timeout=10_000)


def test_a_tile_says_no_changes_as_the_card_does(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path
) -> None:
    """A run that changed nothing: the card said "no changes", its tile "ready"."""
    store = app_context.store
    nothing, changed = add_tasks(store, tmp_path, 2)
    view = make_view(qtbot, app_context)
    view.set_tasks([nothing, changed])
    store.move_task(nothing, TaskState.RUNNING, Phase.IMPLEMENTING)
    store.move_task(nothing, TaskState.AWAITING_REVIEW, Phase.READY)
    store.update_task(changed, diff_files=1, diff_insertions=2)
    store.move_task(changed, TaskState.RUNNING, Phase.IMPLEMENTING)
    store.move_task(changed, TaskState.AWAITING_REVIEW, Phase.READY)
    tiles = [view.tile(nothing), view.tile(changed)]
    assert tiles[0] is not None and tiles[1] is not None
    qtbot.waitUntil(lambda: tiles[1].phase.text() == "ready", timeout=10_000)
    qtbot.waitUntil(lambda: tiles[0].phase.text() == "no changes", timeout=10_000)
