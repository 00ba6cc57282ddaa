"""`seedbed project set/remove` and `project add` of a repository already added: the
command line covers what Settings → Projects does."""

from __future__ import annotations

from pathlib import Path

from seedbed.ui.settings.settings_pages import PROJECT_FIELDS
from tests.conftest import SeedbedCli, git, make_repo
from tests.test_cli import error_line, run_task


def test_project_set_takes_every_setting_of_the_settings_page(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    seedbed.ok("profile", "add", "coder", "--kind", "command", "--command", "true")
    seedbed.ok("profile", "add", "critic", "--kind", "command", "--command", "true")
    git(repo, "branch", "develop")
    coder, critic = (p["id"] for p in seedbed.ok("profile", "list", "--json").json())

    shown = seedbed.ok(
        "project", "set", "demo", "--check", "make test", "--setup", "npm ci",
        "--copy", ".env", "--copy", "config/*.toml", "--diff-budget", "400",
        "--check-timeout", "90", "--base", "develop", "--executor", "coder",
        "--planner", "critic", "--reviewer", "critic", "--fix-rounds", "3",
        "--budget-usd", "2.5", "--budget-tokens", "9000", "--check-network", "model",
        "--allow-host", "pypi.org", "--sandbox-path", "rw:/srv/cache",
        "--sandbox-env", "PGPASSWORD", "--agents-start-tasks", "--json",
    ).json()  # fmt: skip

    expected = {
        "check_command": "make test",
        "setup_command": "npm ci",
        "copy_globs": [".env", "config/*.toml"],
        "diff_budget": 400,
        "check_timeout": 90.0,
        "base_branch": "develop",
        "executor_profile_id": coder,
        "planner_profile_id": critic,
        "reviewer_profile_id": critic,
        "fix_rounds": 3,
        "budget_usd": 2.5,
        "budget_tokens": 9000,
        "check_network": "model",
        "allowed_hosts": ["pypi.org"],
        "sandbox_paths": ["rw:/srv/cache"],
        "sandbox_env": ["PGPASSWORD"],
        "agents_start_tasks": True,
    }
    assert set(PROJECT_FIELDS) <= expected.keys()
    assert {key: shown[key] for key in expected} == expected
    assert seedbed.ok("project", "list", "--json").json() == [shown]

    # What is not named stays; "" takes a role away and --copy "" empties the list.
    kept = seedbed.ok("project", "set", "demo", "--reviewer", "", "--copy", "", "--json").json()
    assert kept == {**shown, "reviewer_profile_id": None, "copy_globs": []}
    assert "'nope' does not exist" in error_line(
        seedbed("project", "set", "demo", "--base", "nope")
    )
    assert "--check-timeout must be" in error_line(
        seedbed("project", "set", "demo", "--check-timeout", "0")
    )
    assert "no profile named 'ghost'" in error_line(
        seedbed("project", "set", "demo", "--executor", "ghost")
    )
    assert seedbed.ok("project", "list", "--json").json() == [kept]


def test_project_add_takes_the_same_settings(
    seedbed: SeedbedCli, repo: Path, tmp_path: Path
) -> None:
    seedbed.ok("profile", "add", "coder", "--kind", "command", "--command", "true")
    shown = seedbed.ok(
        "project", "add", repo, "--name", "demo", "--check-timeout", "60",
        "--executor", "coder", "--budget-tokens", "5", "--json",
    ).json()  # fmt: skip
    assert (shown["check_timeout"], shown["budget_tokens"]) == (60.0, 5)
    assert shown["executor_profile_id"] == seedbed.ok("profile", "list", "--json").json()[0]["id"]
    assert (shown["fix_rounds"], shown["diff_budget"], shown["check_command"]) == (2, 0, "")
    other = make_repo(tmp_path / "other")
    assert "no profile named 'ghost'" in error_line(
        seedbed("project", "add", other, "--reviewer", "ghost")
    )
    assert len(seedbed.ok("project", "list", "--json").json()) == 1


def test_the_same_repository_is_not_added_twice(
    seedbed: SeedbedCli, project: str, repo: Path, tmp_path: Path
) -> None:
    link = tmp_path / "link"
    link.symlink_to(repo)
    linked_checkout = tmp_path / "second-checkout"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked_checkout))

    for path in (repo, link, repo / "src", linked_checkout):
        line = error_line(seedbed("project", "add", path, "--name", "again"))
        assert "already project 'demo'" in line, path

    assert [p["name"] for p in seedbed.ok("project", "list", "--json").json()] == ["demo"]
    seedbed.ok("project", "remove", "demo")
    seedbed.ok("project", "add", link, "--name", "again")


def test_project_remove_is_refused_while_its_tasks_are_active(
    seedbed: SeedbedCli, project: str, repo: Path
) -> None:
    reviewed = run_task(seedbed, "echo done > done.txt")
    queued = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Queued", "--profile", "p1", "--start"
    ).out.strip()

    line = error_line(seedbed("project", "remove", "demo"))
    assert f"#{reviewed['id']} (awaiting_review)" in line and f"#{queued} (running)" in line
    seedbed.ok("task", "requeue", queued)
    assert f"#{reviewed['id']}" in error_line(seedbed("project", "remove", "demo"))

    seedbed.ok("task", "discard", str(reviewed["id"]))  # its branch is kept
    out = seedbed.ok("project", "remove", "demo").out

    assert "project demo removed (2 task(s) forgotten)" in out
    assert f"branches kept: {reviewed['branch']}" in out
    assert git(repo, "branch", "--list", reviewed["branch"]).strip()
    assert seedbed.ok("project", "list", "--json").json() == []
    assert seedbed.ok("task", "list", "--json").json() == []
    assert "no project" in error_line(seedbed("project", "remove", "demo"))

    # Added again, then removed with its branches.
    seedbed.ok("project", "add", repo, "--name", "demo")
    again = run_task(seedbed, "echo again > again.txt")
    seedbed.ok("task", "discard", str(again["id"]))
    out = seedbed.ok("project", "remove", "demo", "--delete-branches").out
    assert f"branches deleted: {again['branch']}" in out
    assert not git(repo, "branch", "--list", again["branch"]).strip()
    assert git(repo, "branch", "--list", reviewed["branch"]).strip()  # not this project's now
    assert again["id"] > reviewed["id"] and again["branch"] != reviewed["branch"]
