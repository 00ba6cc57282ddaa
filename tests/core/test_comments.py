"""Review comments end to end: left through the CLI on a task awaiting review, sent back
with "request changes" into a real agent's follow-up prompt, then kept as history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from seedbed.core.comments import follow_up_prompt
from seedbed.domain.diffs import Comment, CommentAuthor
from tests.conftest import Result, SeedbedCli, git

# First run: write three lines (and a note in the README). A follow-up run: save its
# prompt (stdin), add a line.
AGENT = (
    'if [ -n "$SEEDBED_FOLLOW_UP" ]; then cat > prompt.txt; echo four >> src/app.py;'
    " else printf 'one\\ntwo\\nthree\\n' > src/app.py; echo counted >> README.md; fi"
)


def error_line(result: Result) -> str:
    assert result.code == 2, (result.code, result.err)
    return result.err.strip()


def reviewed_task(seedbed: SeedbedCli) -> dict[str, Any]:
    seedbed.ok("profile", "add", "agent", "--kind", "command", "--command", AGENT)
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", "Count", "--start").out
    seedbed.ok("run", "--until-idle")
    task = seedbed.show(task_id.strip())
    assert (task["state"], task["phase"]) == ("awaiting_review", "ready"), task
    return task


def add_comment(seedbed: SeedbedCli, task_id: int, *args: str) -> int:
    return int(seedbed.ok("comment", "add", str(task_id), *args).out)


def comments(seedbed: SeedbedCli, task_id: int) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = seedbed.ok("comment", "list", str(task_id), "--json").json()
    return listed


def test_comments_round_trip_into_the_follow_up_prompt(seedbed: SeedbedCli, project: str) -> None:
    task = reviewed_task(seedbed)
    task_id = task["id"]
    worktree = Path(task["worktree"])
    ranged = add_comment(
        seedbed, task_id, "--file", "src/app.py", "--line", "2", "--end-line", "3",
        "--body", "Use a loop\nfor these.",
    )  # fmt: skip
    quoted = add_comment(
        seedbed, task_id, "--file", "README.md", "--line", "1", "--quote", "# ``demo``",
        "--body", "Say what it counts",
    )  # fmt: skip
    whole = add_comment(seedbed, task_id, "--file", "src/app.py", "--body", "Add a docstring")
    listed = comments(seedbed, task_id)
    assert [c["id"] for c in listed] == [quoted, whole, ranged]
    assert listed[2]["quote"] == "two\nthree"  # quoted from the worktree
    assert not any(c["sent"] for c in listed)
    seedbed.ok("comment", "edit", str(ranged), "--body", "Use a loop for these.")
    assert "src/app.py:2-3" in seedbed.ok("comment", "list", str(task_id)).out
    tip = git(worktree, "rev-parse", task["branch"]).strip()

    seedbed.ok("task", "request-changes", str(task_id))  # the comments are the message
    assert seedbed.show(task_id)["phase"] == "queued"
    seedbed.ok("run", "--until-idle")

    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready")
    assert [r["kind"] for r in shown["runs"]] == ["implement", "fix"]
    prompt = (worktree / "prompt.txt").read_text()
    assert prompt == follow_up_prompt(
        [Comment.model_validate(c) for c in listed if c["id"] != ranged]
        + [Comment.model_validate({**listed[2], "body": "Use a loop for these."})],
        "",
    )
    assert "README.md:1\n```\n# ``demo``\n```\nSay what it counts" in prompt
    assert "src/app.py\nAdd a docstring" in prompt
    assert "src/app.py:2-3\n```\ntwo\nthree\n```\nUse a loop for these." in prompt
    assert prompt.index("README.md:1") < prompt.index("src/app.py\n") < prompt.index("2-3")

    assert all(c["sent"] for c in comments(seedbed, task_id))
    assert [c["id"] for c in shown["comments"]] == [quoted, whole, ranged]
    assert "sent to the agent" in error_line(seedbed("comment", "edit", str(ranged), "--body", "x"))
    assert "sent to the agent" in error_line(seedbed("comment", "delete", str(whole)))
    assert len(comments(seedbed, task_id)) == 3

    # Since last review: only the second round's work.
    assert shown["reviewed_commit"] == tip
    since = seedbed.ok("task", "diff", str(task_id), "--since-review").out
    assert "+four" in since and "prompt.txt" in since
    assert "+one" not in since and "+one" in seedbed.ok("task", "diff", str(task_id)).out


def test_a_message_comes_first_and_new_comments_go_in_the_next_round(
    seedbed: SeedbedCli, project: str
) -> None:
    task = reviewed_task(seedbed)
    task_id = task["id"]
    add_comment(seedbed, task_id, "--file", "src/app.py", "--line", "1", "--body", "Say 1")
    seedbed.ok("task", "request-changes", str(task_id), "--message", "Numbers, not words.")
    seedbed.ok("run", "--until-idle")
    prompt = (Path(task["worktree"]) / "prompt.txt").read_text()
    assert prompt.startswith("Numbers, not words.\n\n1 review comment on your changes")
    assert "src/app.py:1\n```\none\n```\nSay 1" in prompt

    second = add_comment(seedbed, task_id, "--file", "src/app.py", "--line", "4", "--body", "4!")
    seedbed.ok("task", "request-changes", str(task_id))
    seedbed.ok("run", "--until-idle")
    prompt = (Path(task["worktree"]) / "prompt.txt").read_text()
    assert "Say 1" not in prompt  # sent already
    assert "src/app.py:4\n```\nfour\n```\n4!" in prompt
    assert [c["id"] for c in comments(seedbed, task_id) if c["sent"]][-1] == second


def test_request_changes_needs_a_message_or_a_comment(seedbed: SeedbedCli, project: str) -> None:
    task_id = reviewed_task(seedbed)["id"]
    assert "--message is empty" in error_line(seedbed("task", "request-changes", str(task_id)))
    assert seedbed.show(task_id)["state"] == "awaiting_review"
    assert seedbed.show(task_id)["reviewed_commit"] is None


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--file", "a.py", "--body", "  "], "comment is empty"),
        (["--file", "a.py", "--body", "x\0y"], "NUL"),
        (["--file", "", "--body", "x"], "--file is empty"),
        (["--file", "/etc/passwd", "--body", "x"], "not a path inside"),
        (["--file", "src/../../x", "--body", "x"], "not a path inside"),
        (["--file", "a.py", "--line", "0", "--body", "x"], "--line must be at least 1"),
        (["--file", "a.py", "--line", "5", "--end-line", "4", "--body", "x"], "before it starts"),
        (["--file", "a.py", "--end-line", "4", "--body", "x"], "needs --line"),
    ],
)
def test_bad_comments_are_refused(
    seedbed: SeedbedCli, project: str, args: list[str], error: str
) -> None:
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", "t").out.strip()
    assert error in error_line(seedbed("comment", "add", task_id, *args))
    assert comments(seedbed, int(task_id)) == []


def test_no_comments_on_a_closed_task(seedbed: SeedbedCli, project: str) -> None:
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", "t").out.strip()
    seedbed.ok("task", "discard", task_id)
    line = error_line(seedbed("comment", "add", task_id, "--file", "a.py", "--body", "x"))
    assert "discarded" in line
    assert "no task" in error_line(seedbed("comment", "add", "99", "--file", "a", "--body", "x"))
    assert "no comment" in error_line(seedbed("comment", "delete", "99"))
    assert "no earlier review" in error_line(seedbed("task", "diff", task_id, "--since-review"))


def test_the_prompt_is_stable_and_fences_hold_any_code() -> None:
    def comment(id: int, path: str, line: int | None, **extra: Any) -> Comment:
        return Comment(id=id, task_id=1, path=path, line=line, body=f"body {id}", **extra)

    given = [
        comment(1, "b.py", 2),
        comment(2, "a.py", 10, end_line=12, quote="```py\nx\n```"),
        comment(3, "a.py", 9, end_line=9, author=CommentAuthor.REVIEWER),
        comment(4, "a.py", None),
    ]
    prompt = follow_up_prompt(given, "")
    assert prompt == follow_up_prompt(list(reversed(given)), "")
    assert prompt.split("\n\n")[1:] == [
        "1. a.py\nbody 4",
        "2. a.py:9 (from the reviewer agent)\nbody 3",
        "3. a.py:10-12\n````\n```py\nx\n```\n````\nbody 2",
        "4. b.py:2\nbody 1",
    ]
    assert prompt.startswith("4 review comments on your changes; address each one.")
    assert follow_up_prompt([], "just this") == "just this"
