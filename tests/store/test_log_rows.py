"""Log row numbers: given to shown events as they are stored, and to old data by the
migration that introduced them (in time proportional to the events, not its square)."""

from __future__ import annotations

import time
from pathlib import Path

from seedbed.domain.events import OutputEvent, Stream, TextEvent
from seedbed.domain.models import Project, Run, Task
from seedbed.store import Store
from tests.store.old_database import old_database


def rows(n: int, start: int = 0) -> list[tuple[float, str, str, bool]]:
    out = []
    for i in range(start, start + n):
        if i % 3 == 2:
            event = TextEvent(text=f"piece {i}", delta=True)
            out.append((1.0, "text", event.model_dump_json(), False))
        else:
            event = OutputEvent(stream=Stream.STDOUT, line=f"line {i}")
            out.append((1.0, "output", event.model_dump_json(), True))
    return out


def test_shown_events_are_numbered_and_pieces_are_not(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    project = store.add_project(Project(name="p", path=tmp_path, base_branch="main"))
    task = store.add_task(Task(project_id=project.id, title="t", base_branch="main"))
    run = store.add_run(Run(task_id=task.id, number=0))
    store.append_events(run.id, 0, rows(6))
    store.append_events(run.id, 6, rows(3, 6))
    assert store.count_log_rows(run.id) == 6
    shown = store.read_log_rows(run.id, 0, 100)
    assert [r for r, _seq, _data in shown] == list(range(6))
    assert [seq for _r, seq, _data in shown] == [0, 1, 3, 4, 6, 7]
    assert store.read_pending_text(run.id) == "piece 8"


def test_the_migration_numbers_existing_events_quickly(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = old_database(path, 2, "planned")
    for run in (1, 2):
        conn.execute(
            "INSERT INTO runs (task_id, number, kind, status)"
            " VALUES (1, ?, 'implement', 'succeeded')",
            (run,),
        )
    n = 60_000
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO events (run_id, seq, ts, kind, data) VALUES (?, ?, ?, ?, ?)",
        [(1 + i % 2, i // 2, ts, kind, data) for i, (ts, kind, data, _shown) in enumerate(rows(n))],
    )
    conn.execute("COMMIT")
    conn.close()
    started = time.monotonic()
    store = Store(path)
    elapsed = time.monotonic() - started
    # Quadratic numbering took a minute for 40,000 events; this is one pass.
    assert elapsed < 5, elapsed
    for run in (1, 2):
        shown = store.read_log_rows(run, 0, n)
        assert [r for r, _seq, _data in shown] == list(range(len(shown)))
        assert all('"delta":true' not in data for _r, _seq, data in shown)
        assert store.count_log_rows(run) == len(shown)
    total_shown = sum(store.count_log_rows(run) for run in (1, 2))
    assert total_shown == sum(1 for *_rest, shown in rows(n) if shown)
