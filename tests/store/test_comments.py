"""Review comments in the store: round trip, order, the sent guard, and the migration
that gave them line ranges, quotes and a sent time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from seedbed.domain.diffs import Comment, CommentAuthor
from seedbed.domain.errors import UserError
from seedbed.domain.models import Project, Task
from seedbed.store import Store
from seedbed.store.schema import MIGRATIONS
from tests.store.old_database import old_database

# The schema as it was before comments got end_line, quote, sent_at and updated_at.
VERSION_BEFORE_QUOTES = 3
# The schema as it was before comment ids were AUTOINCREMENT (never reused).
VERSION_BEFORE_AUTOINCREMENT = 15


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "seedbed.db")
    yield store
    store.close()


@pytest.fixture
def task(store: Store) -> Task:
    project = store.add_project(Project(name="p", path=Path("/repo"), base_branch="main"))
    return store.add_task(Task(project_id=project.id, title="t", base_branch="main"))


def test_comments_round_trip_in_reading_order(store: Store, task: Task) -> None:
    later = store.add_comment(Comment(task_id=task.id, path="b.py", line=9, body="late"))
    ranged = store.add_comment(
        Comment(task_id=task.id, path="a.py", line=3, end_line=5, quote="x = 1", body="why?")
    )
    whole = store.add_comment(
        Comment(task_id=task.id, path="a.py", body="split it", author=CommentAuthor.REVIEWER)
    )
    assert [c.id for c in store.list_comments(task.id)] == [whole.id, ranged.id, later.id]
    assert store.get_comment(ranged.id) == ranged
    assert ranged.created_at > 0 and (ranged.end_line, ranged.quote) == (5, "x = 1")
    assert store.get_comment(whole.id).author is CommentAuthor.REVIEWER

    edited = store.update_comment(ranged.id, body="why not 2?")
    assert store.get_comment(ranged.id) == edited and edited.body == "why not 2?"

    store.mark_comments_sent([ranged.id, later.id], at=123.0)
    assert [c.id for c in store.list_comments(task.id, unsent_only=True)] == [whole.id]
    assert store.get_comment(later.id).sent
    sent_at = store.conn.execute("SELECT sent_at FROM comments WHERE id = ?", (later.id,))
    assert sent_at.fetchone()[0] == 123.0

    with pytest.raises(UserError, match="sent to the agent"):
        store.update_comment(later.id, unsent=True, body="rewrite history")
    with pytest.raises(UserError, match="sent to the agent"):
        store.delete_comment(later.id, unsent=True)
    store.delete_comment(whole.id, unsent=True)
    with pytest.raises(UserError, match="no comment"):
        store.get_comment(whole.id)
    with pytest.raises(UserError, match="no comment"):
        store.delete_comment(whole.id)


def test_a_store_with_old_comments_opens_after_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = old_database(path, VERSION_BEFORE_QUOTES)
    conn.execute(
        "INSERT INTO comments (task_id, path, line, body, sent, created_at)"
        " VALUES (1, 'a.py', 4, 'old and sent', 1, 10), (1, 'a.py', NULL, 'old, whole file', 0, 11)"
    )
    conn.close()

    store = Store(path)
    try:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        whole, line = store.list_comments(1)
        assert (whole.line, whole.body, whole.sent) == (None, "old, whole file", False)
        assert (line.line, line.end_line, line.quote, line.sent) == (4, None, "", True)
        assert store.get_task(1).reviewed_commit is None
    finally:
        store.close()


def test_a_deleted_comments_id_is_never_given_again(store: Store, task: Task) -> None:
    first = store.add_comment(Comment(task_id=task.id, path="a.py", body="one"))
    last = store.add_comment(Comment(task_id=task.id, path="a.py", body="two"))
    store.delete_comment(last.id)
    store.delete_comment(first.id)

    again = store.add_comment(Comment(task_id=task.id, path="a.py", body="three"))

    assert again.id > last.id


def test_the_migration_keeps_comment_ids_and_never_reuses_them(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = old_database(path, VERSION_BEFORE_AUTOINCREMENT)
    conn.execute(
        "INSERT INTO comments (id, task_id, path, line, end_line, quote, body, sent,"
        " created_at, sent_at, updated_at)"
        " VALUES (3, 1, 'a.py', 4, 6, 'x = 1', 'kept', 1, 10, 12, 12),"
        " (7, 1, 'b.py', NULL, NULL, '', 'the last one', 0, 11, NULL, 11)"
    )
    conn.close()

    store = Store(path)
    try:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        kept, last = store.list_comments(1)
        assert (kept.id, kept.line, kept.end_line, kept.quote, kept.sent) == (
            3,
            4,
            6,
            "x = 1",
            True,
        )
        assert (last.id, last.body) == (7, "the last one")
        store.delete_comment(7)
        assert store.add_comment(Comment(task_id=1, path="c.py", body="new")).id == 8
    finally:
        store.close()
