"""The command line's human output never shows Python's `None`, and says an error once."""

from __future__ import annotations

from tests.conftest import SeedbedCli
from tests.test_cli import run_task


def test_a_fresh_task_and_the_lists_never_say_none(seedbed: SeedbedCli, project: str) -> None:
    seedbed.ok("profile", "add", "claude", "--kind", "claude-code")
    seedbed.ok("profile", "add", "gpt", "--kind", "builtin", "--provider", "openai", "--model", "m")
    seedbed.ok("profile", "add", "script", "--kind", "command", "--command", "true")
    fresh = seedbed.ok("task", "add", "--project", "demo", "--title", "Fresh").out.strip()
    unassigned = seedbed.ok("task", "add", "--project", "demo", "--title", "Later").out.strip()
    seedbed.ok("task", "add", "--project", "demo", "--title", "Q", "--profile", "script", "--start")

    outputs = {
        args: seedbed.ok(*args).out
        for args in [
            ("task", "show", fresh),
            ("task", "show", unassigned),
            ("task", "list"),
            ("profile", "list"),
            ("profile", "show", "claude"),
            ("profile", "show", "gpt"),
            ("project", "list"),
            ("project", "show", "demo"),
            ("comment", "list", fresh),
        ]
    }

    for args, out in outputs.items():
        assert "None" not in out, (args, out)
    show = outputs[("task", "show", fresh)]
    assert "branch none yet (base main)" in show and "worktree none yet" in show
    assert "claude-code (on PATH) model (its default)" in outputs[("profile", "list")]
    assert "  executor: none\n" in outputs[("project", "show", "demo")]


def test_task_show_says_a_failed_runs_error_once(seedbed: SeedbedCli, project: str) -> None:
    task = run_task(seedbed, "echo boom >&2; exit 3")

    out = seedbed.ok("task", "show", str(task["id"])).out

    assert out.count("exited with code 3") == 1, out
    assert "  error: exited with code 3\n" in out
    assert "exit 3" in out


def test_a_merged_task_whose_branch_was_deleted_is_not_said_to_have_never_run(
    seedbed: SeedbedCli, project: str
) -> None:
    """Approve deletes the branch by default: `task show` said "branch none yet", "worktree
    none yet" and a diff of 0 files (the card says +1), and `task diff` "it has not run"."""
    task = run_task(seedbed, "printf 'one\\ntwo\\n' > notes.txt")
    seedbed.ok("task", "approve", str(task["id"]))

    out = seedbed.ok("task", "show", str(task["id"])).out
    refused = seedbed("task", "diff", str(task["id"]))

    assert "none yet" not in out, out
    assert "branch deleted once merged (base main)" in out, out
    assert "worktree removed" in out, out
    assert "diff: 1 files, +2 -0" in out, out
    assert refused.code == 2
    assert refused.err.strip() == (
        f"error: task {task['id']} is merged and its branch was deleted: its change is on main now"
    )


def test_a_discarded_tasks_worktree_is_said_removed(seedbed: SeedbedCli, project: str) -> None:
    task = run_task(seedbed, "echo x > x.txt")
    seedbed.ok("task", "discard", str(task["id"]))

    out = seedbed.ok("task", "show", str(task["id"])).out

    assert f"branch {task['branch']} (base main)" in out and "worktree removed" in out, out


def test_settings_read_as_a_person_writes_them(seedbed: SeedbedCli, project: str) -> None:
    """yes and no, not True and False; 600, not 600.0."""
    seedbed.ok("project", "set", project, "--check-timeout", "600", "--budget-usd", "5")
    seedbed.ok("profile", "add", "p", "--kind", "command", "--command", "true", "--sandbox")
    shown = seedbed.ok("project", "show", project).out + seedbed.ok("profile", "show", "p").out
    assert "check timeout: 600\n" in shown and "budget usd: 5\n" in shown
    assert "sandbox: yes\n" in shown
    assert "True" not in shown and ".0\n" not in shown
