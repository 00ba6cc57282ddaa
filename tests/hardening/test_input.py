"""Issue 15: numbers and names from the command line. Every number an option or an id
takes is bounded by its model (domain/models.py); a value outside is one `error:` line
naming the option, exit 2, never a traceback, a stored Infinity or invalid JSON."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox
from pytestqt.qtbot import QtBot

from seedbed.cli import main
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentKind, AgentProfile, Task, profile_fields
from seedbed.ui.board.task_options import TaskOptionsBox, parse_after
from seedbed.ui.settings.model_form import ModelForm
from tests.conftest import SeedbedCli, git

HUGE = "99999999999999999999"  # past SQLite's integers (2**63-1)


@pytest.fixture
def board(seedbed: SeedbedCli, project: str) -> SeedbedCli:
    """Project demo, a command profile, and task 1 that ran once (it has a branch and a
    file to comment on)."""
    seedbed.ok("profile", "add", "cmd", "--kind", "command", "--command", "echo hi > a.txt")
    seedbed.ok("task", "add", "--project", "demo", "--title", "x", "--start")
    seedbed.ok("run", "--until-idle")
    return seedbed


# (arguments, the option the error names)
BAD_INPUT = [
    (["task", "add", "--project", "demo", "--title", "y", "--budget-tokens", HUGE + "999"],
     "--budget-tokens"),
    (["task", "add", "--project", "demo", "--title", "y", "--budget-usd", "nan"], "--budget-usd"),
    (["task", "add", "--project", "demo", "--title", "y", "--budget-usd", "inf"], "--budget-usd"),
    (["task", "add", "--project", "demo", "--title", "y", "--budget-usd", "-1"], "--budget-usd"),
    (["task", "add", "--project", "demo", "--title", "y", "--time-limit", "1e308"], "--time-limit"),
    (["task", "add", "--project", "demo", "--title", "y", "--time-limit=-inf"], "--time-limit"),
    (["task", "add", "--project", "demo", "--title", "y", "--after", HUGE], "--after"),
    (["task", "add", "--project", "demo", "--title", "y", "--after", "-3"], "--after"),
    (["task", "budget", "1", "--budget-usd", "1e400"], "--budget-usd"),
    (["task", "budget", "1", "--time-limit", "inf"], "--time-limit"),
    (["task", "budget", "1", "--budget-tokens", "-1"], "--budget-tokens"),
    (["task", "wait", "1", "--after", HUGE], "--after"),
    (["task", "move", "1", "--before", HUGE], "--before"),
    (["task", "log", "1", "--run", HUGE], "--run"),
    *((["task", action, HUGE], "task id") for action in (
        "show", "start", "stop", "requeue", "pin", "plan", "log", "diff", "approve", "budget",
        "fix-merge", "resolve-conflict", "request-changes", "discard",
    )),
    (["task", "show", "-1"], "task id"),
    (["comment", "add", HUGE, "--file", "a.txt", "--body", "b"], "task id"),
    (["comment", "add", "1", "--file", ".", "--line", HUGE, "--body", "b"], "--line"),
    (["comment", "add", "1", "--file", "a.txt", "--line", "1", "--end-line", HUGE, "--body", "b"],
     "--end-line"),
    (["comment", "list", HUGE], "task id"),
    (["comment", "edit", HUGE, "--body", "b"], "comment id"),
    (["comment", "delete", HUGE], "comment id"),
    (["project", "set", "demo", "--diff-budget", HUGE], "--diff-budget"),
    (["project", "set", "demo", "--check-timeout", "nan"], "--check-timeout"),
    (["project", "set", "demo", "--check-timeout", "inf"], "--check-timeout"),
    (["project", "set", "demo", "--budget-usd", "inf"], "--budget-usd"),
    (["project", "set", "demo", "--budget-tokens", HUGE], "--budget-tokens"),
    (["project", "set", "demo", "--fix-rounds", HUGE], "--fix-rounds"),
    (["profile", "set", "cmd", "--timeout", "inf"], "--timeout"),
    (["profile", "set", "cmd", "--timeout", "nan"], "--timeout"),
    (["profile", "set", "cmd", "--grace-seconds", "1e308"], "--grace-seconds"),
    (["profile", "set", "cmd", "--idle-timeout", "-1"], "--idle-timeout"),
    (["profile", "set", "cmd", "--read-timeout", "inf"], "--read-timeout"),
    (["profile", "set", "cmd", "--context-window", HUGE], "--context-window"),
    (["profile", "set", "cmd", "--max-turns", HUGE], "--max-turns"),
    (["profile", "set", "cmd", "--max-tries", "-5"], "--max-tries"),
    (["profile", "set", "cmd", "--max-output-tokens", HUGE], "--max-output-tokens"),
    (["profile", "set", "cmd", "--token-budget", HUGE], "--token-budget"),
    (["profile", "set", "cmd", "--price-in", "nan"], "--price-in"),
    (["profile", "set", "cmd", "--price-out", "inf"], "--price-out"),
    (["profile", "set", "cmd", "--context-warn", "nan"], "--context-warn"),
    (["profile", "set", "cmd", "--context-stop", "inf"], "--context-stop"),
    (["run", "--max-parallel", HUGE], "--max-parallel"),
    (["gui", "--select", HUGE], "task id"),
]  # fmt: skip


def test_a_number_out_of_bounds_is_one_error_line_naming_the_option(board: SeedbedCli) -> None:
    """Every numeric option and id of the command line, huge, negative, nan or inf: a
    traceback before (OverflowError, a NOT NULL constraint), or silently stored."""
    before = board.ok("task", "list", "--json").json()
    for args, option in BAD_INPUT:
        refused = board(*args)
        lines = refused.err.splitlines()
        assert refused.code == 2 and len(lines) == 1, (args, refused)
        assert lines[0].startswith(f"error: {option}") or lines[0].startswith(
            f"error: the {option}"
        ), (args, lines)
        assert "must be" in lines[0], (args, lines)
    assert board.ok("task", "list", "--json").json() == before


def test_a_project_or_profile_named_by_a_huge_number_is_not_found(board: SeedbedCli) -> None:
    for args in (["project", "show", HUGE], ["project", "set", HUGE, "--diff-budget", "3"]):
        refused = board(*args)
        assert (refused.code, refused.err) == (2, f"error: no project named or numbered '{HUGE}'\n")
    refused = board("project", "show", "²")  # a digit to str.isdigit, not to int()
    assert (refused.code, refused.err) == (2, "error: no project named or numbered '²'\n")


def test_a_nan_setting_cannot_break_a_profile(board: SeedbedCli, data_dir: Path) -> None:
    """NaN was saved as null, and the profile could never be read again: every command
    that read it (task show, the engine) failed."""
    assert board("profile", "set", "cmd", "--price-in", "nan").code == 2
    assert board.ok("profile", "show", "cmd", "--json").json()["price_in"] == 0.0
    # As an older Seedbed saved it: the setting reads as its default, the rest is kept.
    with sqlite3.connect(data_dir / "seedbed.db") as conn:
        conn.execute(
            "UPDATE profiles SET config = json_set(config, '$.price_in', json('null'), "
            "'$.grace_seconds', 1e300, '$.timeout', 3.5)"
        )
    shown = board.ok("profile", "show", "cmd", "--json").json()
    assert (shown["price_in"], shown["grace_seconds"], shown["timeout"]) == (0.0, 5.0, 3.5)
    assert board.ok("task", "show", "1", "--json").json()["profile"] == "cmd"


def test_json_output_never_holds_infinity(board: SeedbedCli, data_dir: Path) -> None:
    """`--budget-usd inf` was accepted and `--json` then wrote `Infinity`, which is not
    JSON. A value an older Seedbed saved so gets its default when read."""
    refused = board("task", "budget", "1", "--budget-usd", "inf", "--time-limit", "1e308")
    assert refused.code == 2
    with sqlite3.connect(data_dir / "seedbed.db") as conn:
        conn.execute("UPDATE tasks SET budget_usd = 9e999, time_limit_s = 9e999 WHERE id = 1")
        conn.execute("UPDATE projects SET check_timeout = 9e999")

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the JSON output")

    for args in (["task", "list"], ["task", "show", "1"], ["project", "list"]):
        json.loads(board.ok(*args, "--json").out, parse_constant=refuse)
    [shown] = board.ok("task", "list", "--json").json()
    assert (shown["budget_usd"], shown["time_limit_s"]) == (0.0, 0.0)  # 0: no limit


def test_an_empty_data_dir_is_refused(
    isolated_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--data-dir ""` silently used the default data dir (and SEEDBED_DATA_DIR="")."""
    default = isolated_home / ".local" / "share" / "seedbed"
    assert main(["--data-dir", "", "task", "list"]) == 2
    assert capsys.readouterr().err == "error: --data-dir must not be empty\n"
    monkeypatch.setenv("SEEDBED_DATA_DIR", "")
    assert main(["task", "list"]) == 2
    assert capsys.readouterr().err.startswith("error: SEEDBED_DATA_DIR must not be empty")
    assert not default.exists()


def test_the_task_dialog_holds_what_the_task_model_takes(qtbot: QtBot) -> None:
    """The dialog's spin boxes reach the model's bounds (a budget set on the command line
    is shown, not cut), so do the profile form's, and the "After" field refuses what the
    model refuses."""
    box = TaskOptionsBox([])
    qtbot.addWidget(box)
    for field, spin, per in (
        ("budget_usd", box.usd, 1),
        ("budget_tokens", box.tokens, 1),
        ("time_limit_s", box.minutes, 60),
    ):
        le = next(m.le for m in Task.model_fields[field].metadata if hasattr(m, "le"))
        assert (spin.minimum(), spin.maximum()) == (0, le / per)
    profile = ModelForm(AgentProfile, profile_fields(AgentKind.BUILTIN))
    qtbot.addWidget(profile)
    for name in profile.fields:
        editor = profile.editor(name)
        if isinstance(editor, QSpinBox | QDoubleSpinBox):  # the profile settings' numbers
            metadata = AgentProfile.model_fields[name].metadata
            assert editor.maximum() == next(m.le for m in metadata if hasattr(m, "le")), name
    with pytest.raises(UserError, match="is not a task number"):
        parse_after(f"12, {HUGE}")
    with pytest.raises(UserError, match="is not a task number"):
        parse_after("²")


# -- branch names ------------------------------------------------------------------------


def user_branch(repo: Path, name: str) -> str:
    """A branch of the user's own, with a commit of theirs on it; returns its tip."""
    git(repo, "checkout", "-q", "-b", name)
    (repo / "mine.txt").write_text(f"the user's work on {name}\n")
    git(repo, "add", "mine.txt")
    git(repo, "commit", "-q", "-m", "mine")
    git(repo, "checkout", "-q", "main")
    return git(repo, "rev-parse", name).strip()


def run_task(seedbed: SeedbedCli, task_id: int) -> dict[str, object]:
    seedbed.ok("run", "--until-idle")
    return seedbed.show(task_id)


def test_a_branch_name_the_user_took_gets_a_fresh_one_on_retry(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    """The task's branch name was the user's branch: every start failed with "already
    exists", for ever. The first failure now names the fresh name, and a retry uses it;
    the user's branch is never used, moved or deleted."""
    mine = user_branch(repo, "seedbed/1-fix-x")
    seedbed.ok("profile", "add", "cmd", "--kind", "command", "--command", "echo ok > ok.txt")
    seedbed.ok("task", "add", "--project", "demo", "--title", "Fix x", "--start")

    failed = run_task(seedbed, 1)
    assert failed["phase"] == "agent_failed"
    assert failed["error"] == (
        "preparing failed: the branch seedbed/1-fix-x already exists and is not this "
        "task's; `seedbed task start 1` will use seedbed/1-fix-x-2"
    )
    seedbed.ok("task", "start", "1")
    ready = run_task(seedbed, 1)
    assert (ready["phase"], ready["branch"]) == ("ready", "seedbed/1-fix-x-2")
    assert str(ready["worktree"]).endswith("/1-fix-x-2")
    assert git(repo, "show", "seedbed/1-fix-x-2:ok.txt") == "ok\n"
    assert git(repo, "rev-parse", "seedbed/1-fix-x").strip() == mine

    seedbed.ok("task", "discard", "1", "--delete-branch")
    assert git(repo, "rev-parse", "seedbed/1-fix-x").strip() == mine


def test_a_fresh_name_taken_meanwhile_is_not_used_either(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    """After the offer of `-2`, the user made a branch `-2` of their own (or a branch
    `seedbed/2-y/old` blocks `seedbed/2-y` itself): a retry never adopts a branch that
    holds someone's work; it offers the next name."""
    user_branch(repo, "seedbed/1-fix-x")
    user_branch(repo, "seedbed/2-y/old")
    seedbed.ok("profile", "add", "cmd", "--kind", "command", "--command", "echo ok > ok.txt")
    seedbed.ok("task", "add", "--project", "demo", "--title", "Fix x", "--start")
    seedbed.ok("task", "add", "--project", "demo", "--title", "Y", "--start")
    assert "will use seedbed/1-fix-x-2" in str(run_task(seedbed, 1)["error"])
    assert "will use seedbed/2-y-2" in str(seedbed.show(2)["error"])

    theirs = user_branch(repo, "seedbed/1-fix-x-2")
    seedbed.ok("task", "start", "1")
    again = run_task(seedbed, 1)
    assert again["phase"] == "agent_failed"
    assert "seedbed/1-fix-x-2 already exists and is not this task's" in str(again["error"])
    assert "will use seedbed/1-fix-x-3" in str(again["error"])
    assert git(repo, "rev-parse", "seedbed/1-fix-x-2").strip() == theirs

    seedbed.ok("task", "start", "1")
    seedbed.ok("task", "start", "2")
    assert run_task(seedbed, 1)["branch"] == "seedbed/1-fix-x-3"
    assert (seedbed.show(2)["phase"], seedbed.show(2)["branch"]) == ("ready", "seedbed/2-y-2")
