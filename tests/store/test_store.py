"""The SQLite store: migrations, WAL, board order, guarded moves, and two writers at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from seedbed.domain.errors import IllegalTransition, UserError
from seedbed.domain.models import AgentProfile, Phase, Project, Run, RunStatus, Task, TaskState
from seedbed.store import Store
from seedbed.store.schema import MIGRATIONS


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "seedbed.db"


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    store = Store(db)
    yield store
    store.close()


def add_project(store: Store, name: str = "demo") -> Project:
    return store.add_project(Project(name=name, path=Path("/repo") / name, base_branch="main"))


def add_tasks(store: Store, project: Project, *titles: str) -> list[int]:
    return [
        store.add_task(Task(project_id=project.id, title=t, base_branch="main")).id for t in titles
    ]


def board(store: Store, project: Project) -> list[int]:
    return [t.id for t in store.list_tasks(project_id=project.id)]


def pragma(db: Path, name: str) -> object:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


def test_a_fresh_store_is_migrated_to_the_latest_version(store: Store, db: Path) -> None:
    assert len(MIGRATIONS) >= 1
    assert pragma(db, "user_version") == len(MIGRATIONS)
    tables = {row[0] for row in store.conn.execute("SELECT name FROM sqlite_master")}
    assert {"projects", "profiles", "tasks", "runs", "events", "comments"} <= tables


def test_reopening_is_idempotent(store: Store, db: Path) -> None:
    project = add_project(store)
    add_tasks(store, project, "kept")
    store.close()

    for _ in range(2):
        again = Store(db)
        assert pragma(db, "user_version") == len(MIGRATIONS)
        assert [p.name for p in again.list_projects()] == ["demo"]
        assert [t.title for t in again.list_tasks()] == ["kept"]
        again.close()


def test_journal_mode_is_wal(store: Store, db: Path) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert pragma(db, "journal_mode") == "wal"  # persistent: every reader sees it


def test_new_tasks_go_to_the_bottom_of_their_project(store: Store) -> None:
    demo, other = add_project(store), add_project(store, "other")
    a, b = add_tasks(store, demo, "a", "b")
    [c] = add_tasks(store, other, "c")
    positions = {t.id: t.position for t in store.list_tasks()}
    assert positions[a] < positions[b]
    assert positions[c] == 0
    assert store.get_task(a).state is TaskState.PLANNED
    assert store.get_task(a).phase is Phase.DRAFT


def test_reorder_task(store: Store) -> None:
    project = add_project(store)
    a, b, c, d = add_tasks(store, project, "a", "b", "c", "d")

    store.reorder_task(d, a)
    assert board(store, project) == [d, a, b, c]
    store.reorder_task(a, c)
    assert board(store, project) == [d, b, a, c]
    store.reorder_task(c, d)
    assert board(store, project) == [c, d, b, a]
    store.reorder_task(b, b)
    assert board(store, project) == [c, d, b, a]
    positions = [t.position for t in store.list_tasks(project_id=project.id)]
    assert len(set(positions)) == len(positions)


def test_reorder_task_refuses_other_projects_and_unknown_tasks(store: Store) -> None:
    demo, other = add_project(store), add_project(store, "other")
    [a, b] = add_tasks(store, demo, "a", "b")
    [c] = add_tasks(store, other, "c")
    with pytest.raises(UserError, match="different projects"):
        store.reorder_task(a, c)
    with pytest.raises(UserError, match="no task with id 99"):
        store.reorder_task(a, 99)
    assert board(store, demo) == [a, b]


def test_move_task_with_a_stale_expectation_changes_nothing(store: Store) -> None:
    [task_id] = add_tasks(store, add_project(store), "t")
    before = store.get_task(task_id)

    with pytest.raises(UserError, match="nothing changed"):
        store.move_task(task_id, TaskState.RUNNING, Phase.QUEUED, expect=TaskState.AWAITING_REVIEW)
    assert store.get_task(task_id) == before

    moved = store.move_task(task_id, TaskState.RUNNING, Phase.QUEUED, expect=TaskState.PLANNED)
    assert (moved.state, moved.phase) == (TaskState.RUNNING, Phase.QUEUED)
    assert store.get_task(task_id) == moved
    with pytest.raises(UserError, match="running now, not planned"):
        store.move_task(task_id, TaskState.DISCARDED, Phase.NONE, expect=TaskState.PLANNED)
    assert store.get_task(task_id).state is TaskState.RUNNING


def test_move_task_enforces_the_lifecycle_and_phases(store: Store) -> None:
    [task_id] = add_tasks(store, add_project(store), "t")
    before = store.get_task(task_id)

    with pytest.raises(IllegalTransition):
        store.move_task(task_id, TaskState.MERGED, Phase.NONE)
    with pytest.raises(ValueError, match="does not belong"):
        store.move_task(task_id, TaskState.RUNNING, Phase.READY)
    with pytest.raises(ValueError, match="does not belong"):
        store.update_task(task_id, phase=Phase.CONFLICT)
    with pytest.raises(ValueError, match="move_task"):
        store.update_task(task_id, state=TaskState.MERGED)
    assert store.get_task(task_id) == before


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from seedbed.domain.models import Task
    from seedbed.store import Store

    print("ready", flush=True)
    sys.stdin.readline()  # both processes start writing at the same moment
    store = Store(Path(sys.argv[1]))
    for i in range(200):
        store.add_task(Task(project_id=1, title=f"{sys.argv[2]} {i}", base_branch="main"))
        store.list_tasks()
    store.close()
    """
)


def test_two_processes_write_at_once_without_corruption(db: Path) -> None:
    setup = Store(db)
    assert add_project(setup).id == 1
    setup.close()

    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("first", "second")
    ]
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    results = [writer.communicate(timeout=60) for writer in writers]

    assert [w.returncode for w in writers] == [0, 0], results
    assert [err for _out, err in results] == ["", ""]
    store = Store(db)
    tasks = store.list_tasks()
    store.close()
    assert len(tasks) == 400
    assert len({t.position for t in tasks}) == 400
    assert {t.title for t in tasks} == {f"{n} {i}" for n in ("first", "second") for i in range(200)}
    assert pragma(db, "integrity_check") == "ok"
    assert pragma(db, "user_version") == len(MIGRATIONS)


OPENER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from seedbed.store import Store

    print("ready", flush=True)
    for line in sys.stdin:
        Store(Path(line.strip())).close()
        print("opened", flush=True)
    """
)


def test_processes_opening_a_new_database_together_all_succeed(tmp_path: Path) -> None:
    """The first use of a data dir by two commands at once: both create and migrate the file."""
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for opener in openers:
        assert opener.stdout is not None and opener.stdout.readline() == "ready\n"
    answers: list[str] = []
    for round_ in range(30):
        db = tmp_path / f"{round_}.db"
        for opener in openers:
            assert opener.stdin is not None
            opener.stdin.write(f"{db}\n")
            opener.stdin.flush()
        answers = [opener.stdout.readline() for opener in openers if opener.stdout]
        if answers != ["opened\n"] * 3:
            break
        assert pragma(db, "user_version") == len(MIGRATIONS)
        assert pragma(db, "journal_mode") == "wal"
    results = [opener.communicate(timeout=30) for opener in openers]  # closes their stdin
    assert answers == ["opened\n"] * 3, (round_, results)
    assert [o.returncode for o in openers] == [0, 0, 0], results


def test_a_card_sums_the_time_of_its_earlier_runs_and_tells_how_the_last_ended(
    store: Store,
) -> None:
    [task_id, other] = add_tasks(store, add_project(store), "Three runs", "Never ran")
    for start, end, status, reason in (
        (100.0, 160.0, RunStatus.FAILED, "exited with code 1"),
        (200.0, 230.0, RunStatus.SUCCEEDED, ""),
        (300.0, 310.0, RunStatus.STOPPED, "token budget reached: 2 of 1"),
    ):
        run = store.add_run(Run(task_id=task_id, number=0, started_at=start))
        store.update_run(run.id, ended_at=end, status=status, reason=reason)
    store.add_run(Run(task_id=other, number=0, started_at=400.0))  # running, no end yet
    cards = {card.task.id: card for card in store.cards()}
    card = cards[task_id]
    assert card.earlier_runs_s == 90.0  # the two before the latest
    assert (card.run_started_at, card.run_ended_at) == (300.0, 310.0)
    assert (card.run_status, card.run_reason) == (RunStatus.STOPPED, "token budget reached: 2 of 1")
    running = cards[other]
    assert (running.earlier_runs_s, running.run_status) == (0.0, RunStatus.RUNNING)


def test_tasks_listed_by_id_are_those_that_exist_in_board_order(store: Store) -> None:
    project = add_project(store)
    first, _second, third = add_tasks(store, project, "a", "b", "c")
    listed = store.list_tasks(task_ids=[third, 999, first])
    assert [t.id for t in listed] == [first, third]
    assert store.list_tasks(task_ids=[]) == []


def test_the_first_cards_of_each_column_are_those_it_shows_first(store: Store) -> None:
    project, other = add_project(store), add_project(store, "other")
    ids = add_tasks(store, project, *(f"t{n}" for n in range(9)))
    add_tasks(store, other, "elsewhere", "elsewhere too")
    # (state, position, updated_at) per task, in the order they were added.
    placed = [
        ("planned", 5, 1.0),
        ("planned", 1, 2.0),
        ("planned", 3, 3.0),
        ("awaiting_review", 0, 30.0),
        ("awaiting_review", 0, 10.0),
        ("awaiting_review", 0, 20.0),
        ("merged", 0, 100.0),
        ("merged", 0, 300.0),
        ("merged", 0, 200.0),
    ]
    with store.transaction() as conn:
        for task_id, (state, position, updated) in zip(ids, placed, strict=True):
            conn.execute(
                "UPDATE tasks SET state = ?, position = ?, updated_at = ? WHERE id = ?",
                (state, position, updated, task_id),
            )
    first = {card.task.id for card in store.cards(project.id, first=2)}
    # The queue's order; the oldest awaiting review first; the newest merge first.
    assert first == {ids[1], ids[2], ids[4], ids[5], ids[7], ids[8]}
    assert len(store.cards(first=1)) == 4  # per project: its planned, review, merged; other's
    assert len(store.cards(project.id)) == 9


def test_a_card_says_whether_its_agent_runs_in_a_sandbox(store: Store) -> None:
    project = add_project(store)
    boxed = store.add_profile(AgentProfile(name="boxed", command="true", sandbox=True))
    bare = store.add_profile(AgentProfile(name="bare", command="true"))
    ids = [
        store.add_task(Task(project_id=project.id, title=name, profile_id=profile.id)).id
        for name, profile in (("boxed", boxed), ("bare", bare))
    ]
    ids.append(add_tasks(store, project, "no profile")[0])
    cards = {card.task.id: card.sandboxed for card in store.cards()}
    assert [cards[task_id] for task_id in ids] == [True, False, False]
