"""Asking the agent to resolve a conflict: the base branch is merged into the task's
branch in its own worktree, the agent resolves it there, and the next approve merges.

Real repositories and real `command` agents throughout; the user's checkout is looked
at with plain git.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from seedbed.core.commit_messages import merge_note
from seedbed.core.context import Context
from seedbed.core.review import resolve_conflict, resolve_message
from seedbed.domain.errors import UserError
from seedbed.store import Store
from tests.conftest import SeedbedCli, git
from tests.core.test_review import error_line, has_merge_head, head, parents, status

# Writes its own line the first time; when it finds a merge in progress (the resolve
# run), it resolves the conflict by writing the final content, as an agent would.
SAME_LINE = (
    "if git rev-parse -q --verify MERGE_HEAD >/dev/null; "
    "then printf 'both\\n' > same.txt; "
    'else echo "task $SEEDBED_TASK_ID" > same.txt; fi'
)


def two_conflicting_tasks(seedbed: SeedbedCli) -> tuple[int, int]:
    seedbed.ok("profile", "add", "same-line", "--kind", "command", "--command", SAME_LINE)
    ids = []
    for title in ("First", "Second"):
        out = seedbed.ok(
            "task", "add", "--project", "demo", "--title", title, "--profile", "same-line",
            "--start",
        ).out  # fmt: skip
        ids.append(int(out))
    seedbed.ok("run", "--until-idle")
    first, second = ids
    seedbed.ok("task", "approve", str(first))
    return first, second


def test_the_agent_resolves_a_conflict_in_its_worktree(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    first, second = two_conflicting_tasks(seedbed)
    assert (repo / "same.txt").read_text() == f"task {first}\n"
    snapshot = (status(repo), head(repo), (repo / "same.txt").read_text())

    result = seedbed("task", "approve", str(second))

    assert result.code == 1
    line = error_line(result)
    assert "conflict" in line and "same.txt" in line
    assert (status(repo), head(repo), (repo / "same.txt").read_text()) == snapshot
    assert not has_merge_head(repo)
    task = seedbed.show(second)
    assert (task["state"], task["phase"]) == ("awaiting_review", "conflict")
    base_tip, branch_tip = head(repo, "main"), head(repo, task["branch"])

    store = Store.open(seedbed.data_dir)
    try:
        # Reviewed before: after the base is merged in, "since" would show the base's work.
        store.update_task(second, reviewed_commit=branch_tip)
        queued = resolve_conflict(Context(store), second).value
    finally:
        store.close()
    assert queued.reviewed_commit is None
    assert (queued.state.value, queued.phase.value) == ("running", "queued")
    assert queued.pending_kind.value == "fix" and queued.merge_base_first
    assert "same.txt" in queued.pending_message and "main" in queued.pending_message
    assert "marker" in queued.pending_message
    seedbed.ok("run", "--until-idle")

    after = seedbed.show(second)
    assert (after["state"], after["phase"]) == ("awaiting_review", "ready"), after
    assert after["runs"][-1]["kind"] == "fix"
    messages = [e.get("message", "") for e in seedbed.log_events(second)]
    assert any("conflicts in same.txt" in m for m in messages), messages
    assert not seedbed.ok("task", "show", str(second), "--json").json().get("merge_base_first")
    # The branch's new tip is a merge of its old tip and the base.
    assert parents(repo, after["branch"]) == [branch_tip, base_tip]
    assert git(repo, "show", f"{after['branch']}:same.txt") == "both\n"
    worktree = Path(after["worktree"])
    assert status(worktree) == "" and not has_merge_head(worktree)
    assert (status(repo), head(repo)) == snapshot[:2]  # the user's checkout never moved

    seedbed.ok("task", "approve", str(second))

    assert (repo / "same.txt").read_text() == "both\n"
    assert status(repo) == ""
    assert seedbed.show(second)["state"] == "merged"


def test_a_clean_merge_of_the_base_is_committed_as_a_merge(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    """The base moved on elsewhere too: what merges cleanly is merged with the rest."""
    _first, second = two_conflicting_tasks(seedbed)
    (repo / "other.txt").write_text("meanwhile\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-q", "-m", "meanwhile")
    assert seedbed("task", "approve", str(second)).code == 1
    seedbed.ok("task", "resolve-conflict", str(second))
    seedbed.ok("run", "--until-idle")
    branch = seedbed.show(second)["branch"]
    assert len(parents(repo, branch)) == 2
    assert git(repo, "show", f"{branch}:other.txt") == "meanwhile\n"
    assert "Merge main into" in git(repo, "log", "-1", "--format=%s", branch)


def test_only_a_conflicted_task_can_be_resolved(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    seedbed.ok("profile", "add", "w", "--kind", "command", "--command", "echo hi > new.txt")
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Fine", "--profile", "w"
    ).out.strip()
    result = seedbed("task", "resolve-conflict", task_id)
    assert result.code == 2 and "no merge conflict" in error_line(result)
    seedbed.ok("task", "start", task_id)
    seedbed.ok("run", "--until-idle")
    store = Store.open(seedbed.data_dir)
    try:
        with pytest.raises(UserError, match="no merge conflict"):
            resolve_conflict(Context(store), int(task_id))
        assert store.get_task(int(task_id)).phase.value == "ready"
    finally:
        store.close()


def test_resolve_message_names_the_files() -> None:
    text = resolve_message("main", ["a.py", "docs/b.md"])
    assert "main" in text and "- a.py" in text and "- docs/b.md" in text
    assert "conflict marker" in text and "checks pass" in text
    assert merge_note("main", "seedbed/2-x", []) == "merged main into seedbed/2-x: no conflicts"
    assert merge_note("main", "b", ["a", "c"]) == "merged main into b: conflicts in a, c"
