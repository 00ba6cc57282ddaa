"""The engine reads a task's worktree as git would: what the agent left there is never
followed (a link shows its target text, as git records it) and never waited on (a FIFO
is no file to read)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from seedbed.core.changes import line_count
from seedbed.core.comments import quote_from_worktree
from seedbed.core.context import Context
from seedbed.core.review_data import ReviewData, read_new_lines
from seedbed.domain.models import Phase, TaskState
from seedbed.store import Store
from tests.conftest import SeedbedCli
from tests.core.test_review import finish_task

PROMPT_S = 5.0


def promptly(fifo: Path, call: Callable[[], object]) -> object:
    """`call`'s answer, which must come within PROMPT_S (a reader stuck on the FIFO is
    released by opening its other end, so the test fails rather than hangs)."""
    answer: list[object] = []
    worker = threading.Thread(target=lambda: answer.append(call()), daemon=True)
    worker.start()
    worker.join(PROMPT_S)
    if worker.is_alive():
        os.close(os.open(fifo, os.O_WRONLY))  # lets the stuck reader go
        worker.join(PROMPT_S)
        raise AssertionError("the read waited on the FIFO")
    return answer[0]


def test_a_link_shows_its_target_and_a_fifo_reads_as_nothing(
    seedbed: SeedbedCli, project: str, repo: Path, data_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("SECRET FROM OUTSIDE\n")
    finished = finish_task(seedbed, "printf 'one\\n' > first.txt")
    store = Store.open(data_dir)
    store.move_task(finished["id"], TaskState.RUNNING, Phase.IMPLEMENTING)
    task = store.get_task(finished["id"])
    assert task.worktree is not None
    (task.worktree / "leak.txt").symlink_to(outside)  # the agent at work
    (task.worktree / "folder").symlink_to(tmp_path)
    fifo = task.worktree / "pipe"
    os.mkfifo(fifo)
    ctx = Context(store)
    data = ReviewData(task=task, live=True)

    assert read_new_lines(ctx, data, "leak.txt") == [str(outside)]
    assert read_new_lines(ctx, data, "folder/outside.txt") == []
    assert read_new_lines(ctx, data, "first.txt") == ["one"]
    assert line_count(store, task, "leak.txt") == 1
    assert quote_from_worktree(task, "leak.txt", 1, None) == str(outside)
    assert quote_from_worktree(task, "folder/outside.txt", 1, None) == ""

    assert promptly(fifo, lambda: read_new_lines(ctx, data, "pipe")) == []
    assert promptly(fifo, lambda: line_count(store, task, "pipe")) is None
    assert promptly(fifo, lambda: quote_from_worktree(task, "pipe", 1, None)) == ""
    store.close()
