"""The headless command line: its exit codes, messages, JSON output and data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from seedbed import __version__
from tests.conftest import Result, SeedbedCli, git, make_repo

SHOW_KEYS = {
    "id",
    "plan",
    "fix_rounds_used",
    "title",
    "state",
    "phase",
    "project",
    "branch",
    "worktree",
    "base",
    "profile",
    "runs",
    "diff",
    "checks",
}
RUN_KEYS = {"id", "kind", "status", "exit_code", "started_at", "ended_at"}


def error_line(result: Result, code: int = 2) -> str:
    """The one `error:` line of a refused command; no traceback, nothing on stdout."""
    assert result.code == code, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), result.err
    assert "Traceback" not in result.err
    assert result.out == ""
    return lines[0]


def run_task(
    seedbed: SeedbedCli, command: str, title: str = "Do it", project: str = "demo"
) -> dict[str, Any]:
    """Add a profile running `command`, a task using it, run it to the end; its detail."""
    profile = f"p{len(seedbed.ok('profile', 'list', '--json').json()) + 1}"
    seedbed.ok("profile", "add", profile, "--kind", "command", "--command", command)
    task_id = seedbed.ok(
        "task", "add", "--project", project, "--title", title, "--profile", profile, "--start"
    ).out.strip()
    seedbed.ok("run", "--until-idle")
    return seedbed.show(task_id)


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SEEDBED_DATA_DIR"}
    return {**env, **extra}


# -- usage errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["task", "list", "--bogus"],
        ["project", "add"],
        ["task", "add", "--title", "no project"],
        ["task", "add", "--project", "demo"],
        ["profile", "add", "w", "--command", "true"],
        ["profile", "add", "w", "--kind", "robot", "--command", "true"],
        ["task", "approve", "1", "--strategy", "octopus"],
        ["task", "show", "one"],
        ["task", "list", "--state", "done"],
        ["task", "frobnicate"],
        ["task"],
        ["task", "add", "--project", "demo", "--title", "x", "--prompt", "a", "--prompt-file", "f"],
    ],
)
def test_usage_errors_are_one_line_and_exit_2(seedbed: SeedbedCli, args: list[str]) -> None:
    error_line(seedbed(*args))


@pytest.mark.parametrize(
    "args",
    [
        ["task", "show", "999"],
        ["task", "show", "999", "--json"],
        ["task", "start", "999"],
        ["task", "stop", "999"],
        ["task", "log", "999"],
        ["task", "diff", "999"],
        ["task", "approve", "999"],
        ["task", "discard", "999"],
        ["task", "move", "999", "--before", "998"],
        ["task", "add", "--project", "nope", "--title", "x"],
        ["task", "list", "--project", "nope"],
        ["task", "add", "--project", "demo", "--title", "x", "--profile", "nope"],
        ["task", "add", "--project", "demo", "--title", "   "],
    ],
)
def test_unknown_things_are_user_errors(seedbed: SeedbedCli, project: str, args: list[str]) -> None:
    line = error_line(seedbed(*args))
    assert "999" in line or "nope" in line or "empty" in line


def test_project_add_refuses_a_plain_directory(seedbed: SeedbedCli, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert "not a git repository" in error_line(seedbed("project", "add", plain))
    assert "does not exist" in error_line(seedbed("project", "add", tmp_path / "missing"))
    assert seedbed.ok("project", "list", "--json").json() == []


def test_project_add_refuses_an_empty_repository(seedbed: SeedbedCli, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    assert "no commits" in error_line(seedbed("project", "add", empty))


def test_project_add_refuses_a_missing_base_branch(seedbed: SeedbedCli, repo: Path) -> None:
    line = error_line(seedbed("project", "add", repo, "--base", "nope"))
    assert "'nope'" in line and "does not exist" in line
    assert "-x" in error_line(seedbed("project", "add", repo, "--base=-x"))


def test_project_add_refuses_what_it_cannot_work_on(seedbed: SeedbedCli, tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a repository\n")
    bare = tmp_path / "bare.git"
    bare.mkdir()
    git(bare, "init", "-q", "--bare")
    detached = make_repo(tmp_path / "detached")
    git(detached, "switch", "-q", "--detach")

    assert "not a git repository" in error_line(seedbed("project", "add", a_file))
    assert "bare" in error_line(seedbed("project", "add", bare))
    assert "--base" in error_line(seedbed("project", "add", detached))
    assert "empty" in error_line(
        seedbed("project", "add", detached, "--base", "main", "--name", "")
    )
    budget = seedbed("project", "add", detached, "--base", "main", "--diff-budget", "-1")
    assert "--diff-budget" in error_line(budget)
    assert seedbed.ok("project", "list", "--json").json() == []
    seedbed.ok("project", "add", detached, "--base", "main")


def test_project_add_refuses_a_second_project_with_the_same_name(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    other = make_repo(tmp_path / "other", {"README.md": "# other\n"})
    assert "already exists" in error_line(seedbed("project", "add", other, "--name", "demo"))


def test_project_add_defaults_to_checked_out_branch_and_directory_name(
    seedbed: SeedbedCli, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "widget")
    git(repo, "switch", "-q", "-c", "develop")

    project_id = seedbed.ok("project", "add", repo / ".").out.strip()

    [project] = seedbed.ok("project", "list", "--json").json()
    assert project["id"] == int(project_id)
    assert project["name"] == "widget"
    assert project["base_branch"] == "develop"
    assert Path(project["path"]) == repo


def test_project_add_from_a_subdirectory_uses_the_top_level(
    seedbed: SeedbedCli, repo: Path
) -> None:
    seedbed.ok("project", "add", repo / "src", "--name", "sub", "--check", "make test")
    [project] = seedbed.ok("project", "list", "--json").json()
    assert Path(project["path"]) == repo
    assert project["check_command"] == "make test"


# -- listing as JSON --------------------------------------------------------------------


def test_lists_are_valid_json(seedbed: SeedbedCli, project: str, repo: Path) -> None:
    assert seedbed.ok("profile", "list", "--json").json() == []
    seedbed.ok("profile", "add", "w", "--kind", "command", "--command", "echo 'hi' > x")

    [proj] = seedbed.ok("project", "list", "--json").json()
    [profile] = seedbed.ok("profile", "list", "--json").json()
    assert (proj["name"], proj["base_branch"], Path(proj["path"])) == ("demo", "main", repo)
    assert (profile["name"], profile["kind"]) == ("w", "command")
    assert profile["command"] == "echo 'hi' > x"
    assert "demo" in seedbed.ok("project", "list").out
    assert seedbed.ok("task", "list", "--json").json() == []


def test_task_list_filters_by_state_and_project(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    other = make_repo(tmp_path / "other")
    seedbed.ok("project", "add", other, "--name", "other")
    done = run_task(seedbed, "echo hi > new.txt", "Ran already")
    planned = int(seedbed.ok("task", "add", "--project", "demo", "--title", "Later").out)
    elsewhere = int(seedbed.ok("task", "add", "--project", "other", "--title", "There").out)

    def ids(*args: str) -> list[int]:
        return [t["id"] for t in seedbed.ok("task", "list", "--json", *args).json()]

    assert sorted(ids()) == sorted([done["id"], planned, elsewhere])
    assert sorted(ids("--state", "planned")) == sorted([planned, elsewhere])
    assert ids("--state", "awaiting_review") == [done["id"]]
    assert ids("--project", "other") == [elsewhere]
    assert ids("--project", "demo", "--state", "planned") == [planned]
    assert ids("--state", "merged") == []
    rows = seedbed.ok("task", "list", "--json").json()
    assert {row["state"] for row in rows} == {"planned", "awaiting_review"}


# -- task add, show, log, diff, move ----------------------------------------------------


def test_task_add_reads_the_prompt_file(seedbed: SeedbedCli, project: str, tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.md"
    prompt.write_text('Fix the bug.\n\nUse `pytest` — and don\'t say "$(whoami)".\n')

    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Fix", "--prompt-file", prompt
    ).out.strip()

    assert seedbed.show(task_id)["prompt"] == prompt.read_text()


def test_task_refuses_moves_its_state_does_not_allow(seedbed: SeedbedCli, project: str) -> None:
    task_id = seedbed.ok("task", "add", "--project", "1", "--title", "No agent yet").out.strip()
    assert "no agent profile" in error_line(seedbed("task", "start", task_id))
    assert "awaiting review" in error_line(
        seedbed("task", "request-changes", task_id, "--message", "more")
    )
    assert "not running" in error_line(seedbed("task", "stop", task_id))
    assert "not running" in error_line(seedbed("task", "requeue", task_id))
    assert seedbed.show(task_id)["state"] == "planned"


def test_task_add_with_a_missing_prompt_file(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.md"
    line = error_line(
        seedbed("task", "add", "--project", "demo", "--title", "x", "--prompt-file", missing)
    )
    assert "nope.md" in line
    not_text = tmp_path / "binary.md"
    not_text.write_bytes(b"\xff\xfe\x00")
    for bad in (not_text, tmp_path):
        args = ("task", "add", "--project", "demo", "--title", "x", "--prompt-file", bad)
        assert "cannot read the prompt file" in error_line(seedbed(*args))
    assert seedbed.ok("task", "list", "--json").json() == []


def test_task_show_json_has_the_documented_shape(
    seedbed: SeedbedCli, tmp_path: Path, repo: Path
) -> None:
    seedbed.ok(
        "project", "add", repo, "--name", "demo", "--check", "echo checking; exit 3",
        "--fix-rounds", "0",
    )  # fmt: skip
    task = run_task(seedbed, "echo hi > new.txt", "Show me")

    assert task.keys() >= SHOW_KEYS
    assert task["title"] == "Show me"
    assert (task["state"], task["phase"]) == ("awaiting_review", "checks_failed")
    assert (task["project"], task["base"], task["profile"]) == ("demo", "main", "p1")
    assert task["branch"] == f"seedbed/{task['id']}-show-me"
    assert Path(task["worktree"]).is_dir()
    [run] = task["runs"]
    assert run.keys() >= RUN_KEYS
    assert (run["kind"], run["status"], run["exit_code"]) == ("implement", "succeeded", 0)
    assert run["started_at"] <= run["ended_at"]
    assert task["diff"] == {"files": 1, "insertions": 1, "deletions": 0}
    assert task["checks"]["status"] == "failed"
    assert task["checks"]["exit_code"] == 3
    assert "checking" in task["checks"]["output_tail"]


def test_task_show_json_of_a_planned_task(seedbed: SeedbedCli, project: str) -> None:
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", "Later").out.strip()
    task = seedbed.show(task_id)
    assert task.keys() >= SHOW_KEYS
    assert (task["state"], task["phase"], task["branch"], task["runs"]) == (
        "planned",
        "draft",
        None,
        [],
    )
    assert task["diff"] == {"files": 0, "insertions": 0, "deletions": 0}
    assert task["checks"] == {
        "status": "none",
        "exit_code": None,
        "output_tail": "",
        "tree": "",
        "base": "",
        "commands": "",
    }
    assert f"#{task_id} Later" in seedbed.ok("task", "show", task_id).out


def test_task_log_jsonl_is_one_object_per_line(seedbed: SeedbedCli, project: str) -> None:
    task = run_task(seedbed, "echo hello from the agent; echo oops >&2")

    out = seedbed.ok("task", "log", str(task["id"]), "--jsonl").out
    events = [json.loads(line) for line in out.splitlines()]

    assert len(events) > 2
    assert all("kind" in e and "seq" in e for e in events)
    assert [e["seq"] for e in events] == list(range(len(events)))
    lines = {(e.get("stream"), e.get("line")) for e in events if e["kind"] == "output"}
    assert ("stdout", "hello from the agent") in lines
    assert ("stderr", "oops") in lines
    assert seedbed.ok("task", "log", str(task["id"]), "--run", "1", "--jsonl").out == out
    text = seedbed.ok("task", "log", str(task["id"])).out
    assert "hello from the agent" in text and "[stderr] oops" in text
    assert "no run 7" in error_line(seedbed("task", "log", str(task["id"]), "--run", "7"))


def test_task_log_of_a_task_that_never_ran(seedbed: SeedbedCli, project: str) -> None:
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", "Later").out.strip()
    assert "not run" in error_line(seedbed("task", "log", task_id))
    assert "no branch" in error_line(seedbed("task", "diff", task_id))


def test_task_diff_shows_renames_binary_files_and_edits(seedbed: SeedbedCli, project: str) -> None:
    task = run_task(
        seedbed,
        "git mv README.md README.txt && printf '\\000\\001\\002' > blob.bin"
        " && echo 'print(2)' >> src/app.py",
    )
    task_id = str(task["id"])

    diff = seedbed.ok("task", "diff", task_id).out
    stat = seedbed.ok("task", "diff", task_id, "--stat").out

    assert "rename from README.md\nrename to README.txt\n" in diff
    assert "Binary files /dev/null and b/blob.bin differ" in diff
    assert "--- a/src/app.py\n+++ b/src/app.py\n" in diff
    assert "\n+print(2)\n" in diff
    rows = stat.splitlines()
    assert any("README.md" in r and "README.txt" in r and r.split()[0] == "R" for r in rows)
    assert any("blob.bin" in r and "binary" in r for r in rows)
    assert any("src/app.py" in r and "+1 -0" in r for r in rows)
    assert rows[-1].strip() == "3 files, +1 -0"
    files = {f["path"]: f for f in seedbed.ok("task", "diff", task_id, "--stat", "--json").json()}
    assert files["README.txt"]["old_path"] == "README.md"
    assert files["blob.bin"]["binary"] is True
    assert task["diff"]["files"] == 3


def test_task_move_changes_the_board_order(seedbed: SeedbedCli, project: str) -> None:
    a, b, c = (int(seedbed.ok("task", "add", "--project", "demo", "--title", t).out) for t in "ABC")

    def order() -> list[int]:
        return [t["id"] for t in seedbed.ok("task", "list", "--json").json()]

    assert order() == [a, b, c]
    seedbed.ok("task", "move", str(c), "--before", str(a))
    assert order() == [c, a, b]
    seedbed.ok("task", "move", str(a), "--before", str(c))
    assert order() == [a, c, b]
    seedbed.ok("task", "move", str(b), "--before", str(b))
    assert order() == [a, c, b]
    lines = seedbed.ok("task", "list").out.splitlines()
    assert [line.split()[0] for line in lines] == [str(a), str(c), str(b)]


def test_task_move_across_projects_is_refused(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    seedbed.ok("project", "add", make_repo(tmp_path / "other"), "--name", "other")
    a = seedbed.ok("task", "add", "--project", "demo", "--title", "A").out.strip()
    b = seedbed.ok("task", "add", "--project", "other", "--title", "B").out.strip()
    assert "different projects" in error_line(seedbed("task", "move", a, "--before", b))


def test_a_hostile_title_is_never_executed(seedbed: SeedbedCli, project: str, repo: Path) -> None:
    title = 'Fix "it" $(touch pwned-1) `touch pwned-2`; touch pwned-3\nsecond line'
    task = run_task(seedbed, "echo hi > new.txt", title)

    assert task["title"] == title
    assert task["branch"] == f"seedbed/{task['id']}-fix-it-touch-pwned-1-touch-pwned-2-touch"
    git(repo, "check-ref-format", "--branch", task["branch"])
    worktree = Path(task["worktree"])
    for place in (repo, worktree, worktree.parent, Path.cwd()):
        assert not list(place.glob("pwned-*")), place
    subject = git(repo, "log", "-1", "--format=%s", task["branch"]).strip()
    assert subject == " ".join(title.split())


# -- the program as a real process, and where its data goes -----------------------------


def test_python_m_seedbed_help_and_version(tmp_path: Path) -> None:
    env = subprocess_env(SEEDBED_DATA_DIR=str(tmp_path / "data"))
    helped = subprocess.run(
        [sys.executable, "-m", "seedbed", "--help"], capture_output=True, text=True, env=env
    )
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage: seedbed")
    for command in ("project", "profile", "task", "run"):
        assert command in helped.stdout
    versioned = subprocess.run(
        [sys.executable, "-m", "seedbed", "--version"], capture_output=True, text=True, env=env
    )
    assert versioned.returncode == 0
    assert versioned.stdout.strip() == f"seedbed {__version__}"
    bad = subprocess.run(
        [sys.executable, "-m", "seedbed", "task", "show", "7"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 2
    assert bad.stderr == "error: no task with id 7\n"
    assert bad.stdout == ""


def test_the_console_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "seedbed"
    assert script.exists()
    result = subprocess.run(
        [script, "--version"],
        capture_output=True,
        text=True,
        env=subprocess_env(SEEDBED_DATA_DIR=str(tmp_path)),
    )
    assert (result.returncode, result.stdout.strip()) == (0, f"seedbed {__version__}")


def test_data_dir_option_and_environment(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    from_env, from_option = tmp_path / "from-env", tmp_path / "from-option"
    env = subprocess_env(
        HOME=str(home), XDG_DATA_HOME=str(home / "data"), SEEDBED_DATA_DIR=str(from_env)
    )

    def seedbed_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "seedbed", *map(str, args)],
            capture_output=True,
            text=True,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        return result

    seedbed_cli("project", "add", repo, "--name", "env")
    seedbed_cli("--data-dir", from_option, "project", "add", repo, "--name", "opt")

    assert (from_env / "seedbed.db").is_file()
    assert (from_option / "seedbed.db").is_file()
    assert not home.exists()  # the platform's default data dir was never touched
    listed = json.loads(seedbed_cli("project", "list", "--json").stdout)
    assert [p["name"] for p in listed] == ["env"]
    listed = json.loads(seedbed_cli("--data-dir", from_option, "project", "list", "--json").stdout)
    assert [p["name"] for p in listed] == ["opt"]


def test_in_process_data_dir(seedbed: SeedbedCli, project: str, data_dir: Path) -> None:
    assert (data_dir / "seedbed.db").is_file()
    task = run_task(seedbed, "echo hi > new.txt")
    assert Path(task["worktree"]).is_relative_to(data_dir / "worktrees" / "demo")


def test_an_unusable_data_dir_is_one_error_line(seedbed, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = seedbed("--data-dir", blocker / "sub", "project", "list")
    assert result.code == 2
    assert result.err.startswith("error: cannot use ") and result.err.count("\n") == 1


@pytest.mark.parametrize("name", ["../../escape", ".hidden", "a/b", "", "x" * 65])
def test_project_names_that_cannot_name_a_directory_are_refused(seedbed, repo, name):
    result = seedbed("project", "add", str(repo), "--name", name)
    assert result.code == 2 and result.err.startswith("error: ")
    assert seedbed.ok("project", "list", "--json").json() == []


def test_tasks_can_be_pinned_to_the_foreground(seedbed: SeedbedCli, project: str) -> None:
    added = seedbed.ok(
        "task", "add", "--project", project, "--title", "Watch me", "--foreground", "--json"
    ).json()
    assert added["foreground"] is True
    assert seedbed.ok("task", "pin", str(added["id"]), "--off").out.strip().endswith("unpinned")
    assert seedbed.show(added["id"])["foreground"] is False
    listed = seedbed.ok("task", "list", "--json").json()
    assert [t["foreground"] for t in listed] == [False]
    assert seedbed("task", "pin", "99").code == 2


def test_task_plan_is_written_read_and_refused_when_done(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    task_id = seedbed.ok("task", "add", "--project", project, "--title", "Plan me").out.strip()
    assert seedbed.ok("task", "plan", task_id).out.strip() == "(no plan)"
    missing = seedbed("task", "plan", task_id, "--edit", str(tmp_path / "nope.md"))
    assert missing.code == 2 and "cannot read the plan file" in missing.err
    plan = tmp_path / "plan.md"
    plan.write_text("  Step one: 'quote' \"and\" $(echo no)\n\n")
    seedbed.ok("task", "plan", task_id, "--edit", str(plan))
    assert seedbed.show(task_id)["plan"] == "Step one: 'quote' \"and\" $(echo no)\n"
    seedbed.ok("task", "discard", task_id)
    refused = seedbed("task", "plan", task_id, "--edit", str(plan))
    assert refused.code == 2 and "discarded" in refused.err
