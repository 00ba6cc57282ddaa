"""The setup and check commands of a sandboxed profile's task run in its sandbox too:
on its own branch after each run, and on the merge result before the base moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedbed.sandbox.bwrap import sandbox_support
from tests.conftest import SeedbedCli, git

pytestmark = pytest.mark.skipif(
    not sandbox_support().works, reason=f"no sandbox here: {sandbox_support().problem}"
)

# Passes only where it can neither write the home nor move the base branch: in the sandbox.
CONFINED = (
    '! touch "$HOME/written-by-check" 2>/dev/null'
    " && ! git update-ref refs/heads/main HEAD 2>/dev/null"
    " && test -f README.md"
)


@pytest.mark.parametrize("sandbox", ["--sandbox", "--no-sandbox"])
def test_setup_and_checks_run_in_the_sandbox_of_a_sandboxed_agent(
    seedbed: SeedbedCli,
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sandbox: str,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    seedbed.ok(
        "project", "add", str(repo), "--name", "demo", "--setup", CONFINED, "--check", CONFINED
    )
    seedbed.ok(
        "profile", "add", "boxed", "--kind", "command", "--command", "echo more >> README.md",
        sandbox, "--network", "none",
    )  # fmt: skip
    task_id = int(
        seedbed.ok(
            "task", "add", "--project", "demo", "--title", "More", "--profile", "boxed", "--start"
        ).out.strip()
    )
    seedbed.ok("run", "--until-idle")
    task = seedbed.show(task_id)
    if sandbox == "--no-sandbox":  # the same commands, with the user's rights: they escape
        assert task["phase"] == "agent_failed", task
        assert "setup command exited" in task["error"]
        assert (home / "written-by-check").exists()
        return
    assert (task["phase"], task["checks"]["status"]) == ("ready", "passed"), task
    (repo / "later.txt").write_text("the base moves on\n")  # → the merge result is checked
    git(repo, "add", "later.txt")
    git(repo, "commit", "-q", "-m", "later")
    base = git(repo, "rev-parse", "main").strip()

    seedbed.ok("task", "approve", str(task_id))

    assert seedbed.show(task_id)["state"] == "merged"
    assert git(repo, "rev-parse", "main~1").strip() == base
    assert not (home / "written-by-check").exists()
    merge = [r for r in seedbed.show(task_id)["runs"] if r["kind"] == "merge"][-1]
    said = [
        e.get("message", "") for e in seedbed.log_events(task_id, "--run", str(merge["number"]))
    ]
    assert "checks on the merge result passed (exit 0)" in said


@pytest.mark.parametrize(("network", "status"), [("none", "failed"), ("full", "passed")])
def test_the_checks_reach_what_the_project_lets_them(
    seedbed: SeedbedCli, repo: Path, other_server: str, network: str, status: str
) -> None:
    """A sandboxed agent's checks have the project's network: none by default."""
    fetch = f"python3 -c 'import urllib.request; urllib.request.urlopen(\"{other_server}\")'"
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", fetch)
    seedbed.ok("project", "set", "demo", "--check-network", network)
    seedbed.ok(
        "profile", "add", "boxed", "--kind", "command", "--command", "echo more >> README.md",
        "--sandbox", "--network", "none",
    )  # fmt: skip
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "More", "--profile", "boxed", "--start"
    ).out.strip()
    seedbed.ok("run", "--until-idle")
    assert seedbed.show(int(task_id))["checks"]["status"] == status
