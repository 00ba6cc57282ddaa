"""An agent that commits in the sandbox does so as the user: the home's git config is
hidden with the home, so the identity it configured there comes in by the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedbed.sandbox.bwrap import sandbox_support
from tests.conftest import GIT_ENV, SeedbedCli, git

pytestmark = pytest.mark.skipif(
    not sandbox_support().works, reason=f"no sandbox here: {sandbox_support().problem}"
)


def test_the_agents_own_commit_carries_the_users_identity(
    seedbed: SeedbedCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in GIT_ENV:
        if name.startswith(("GIT_AUTHOR", "GIT_COMMITTER")):
            monkeypatch.delenv(name, raising=False)
    home = Path.home()
    (home / ".gitconfig").write_text("[user]\n\tname = Ada Home\n\temail = ada@example.org\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "-c", "init.defaultBranch=main", "init", "-q")  # no identity of its own
    (repo / "README.md").write_text("# demo\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial commit")
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    commit = "echo more >> README.md && git commit -qam 'the agent commits'"
    seedbed.ok(
        "profile", "add", "boxed", "--kind", "command", "--command", commit,
        "--sandbox", "--network", "none",
    )  # fmt: skip
    task_id = int(
        seedbed.ok("task", "add", "--project", "demo", "--title", "T", "--start").out.strip()
    )
    seedbed.ok("run", "--until-idle")

    task = seedbed.show(task_id)
    assert task["phase"] == "ready", task["error"]
    said = git(repo, "log", "--format=%an <%ae>|%s", f"main..{task['branch']}")
    assert "Ada Home <ada@example.org>|the agent commits" in said.splitlines()
