"""The effective sandbox of a profile, as `seedbed agents doctor` and the profile form
show it."""

from __future__ import annotations

from pathlib import Path

from seedbed.core.sandboxing import agent_sandbox, effective_sandbox
from seedbed.domain.models import AgentKind, AgentProfile, Project, SandboxNetwork, Task
from seedbed.vcs.git import create_worktree
from tests.conftest import SeedbedCli, make_repo


def test_agents_doctor_shows_what_each_sandboxed_profile_may_do(
    seedbed: SeedbedCli, data_dir: Path
) -> None:
    seedbed.ok(
        "profile", "add", "boxed", "--kind", "command", "--command", "make",
        "--sandbox", "--network", "model", "--allow-host", "pypi.org",
        "--sandbox-path", "rw:/srv/cache", "--sandbox-path", "/opt/sdk",
        "--sandbox-env", "PGPASSWORD",
    )  # fmt: skip
    seedbed.ok("profile", "add", "bare", "--kind", "command", "--command", "make")

    said = seedbed.ok("agents", "doctor").out

    assert "profile boxed (command): sandboxed" in said and "profile bare" not in said
    lines = said.split("profile boxed (command): sandboxed\n", 1)[1].splitlines()[:5]
    assert lines[0] == "  writable: the task's worktree (and its own branch), /srv/cache"
    assert lines[1].endswith(", /opt/sdk")
    assert str(data_dir) in lines[2] and str(Path.home()) in lines[2]
    assert lines[3] == "  network: model: pypi.org (and each project's allowed hosts)"
    assert lines[4].startswith("  withheld: the D-Bus buses, SSH and GPG agents")
    assert lines[4].endswith("…) but PGPASSWORD (and each project's kept variables)")


def test_an_agent_cli_writes_its_own_directory_and_reaches_its_model(data_dir: Path) -> None:
    profile = AgentProfile(
        name="cc",
        kind=AgentKind.CLAUDE_CODE,
        sandbox=True,
        network=SandboxNetwork.MODEL,
        base_url="http://127.0.0.1:8080",
    )
    writable, _readable, _hidden, network, _withheld = effective_sandbox(profile, data_dir)
    assert writable.endswith(f", {Path.home() / '.claude'} (Seedbed's copy for the task)")
    assert network.startswith("network: model: 127.0.0.1:8080 (its model)")
    assert effective_sandbox(profile.model_copy(update={"sandbox": False}), data_dir) == []


def test_the_users_http_mcp_servers_are_reached_like_the_model(tmp_path: Path) -> None:
    """Network model: the hosts of the HTTP MCP servers a run is given are allowed (a
    local one forwarded), as its model's is; nothing else is added."""
    repo = make_repo(tmp_path / "repo")
    worktree = tmp_path / "wt"
    create_worktree(repo, worktree, "seedbed/1-task", "main")
    project = Project(id=1, name="demo", path=repo, base_branch="main")
    task = Task(id=1, project_id=1, title="t", worktree=worktree, branch="seedbed/1-task")
    profile = AgentProfile(name="cc", kind=AgentKind.CLAUDE_CODE, sandbox=True,
                           base_url="https://api.anthropic.com")  # fmt: skip
    servers = ["https://mcp.example.org/mcp", "http://127.0.0.1:8765/mcp"]

    plan, _share = agent_sandbox(tmp_path / "data", project, task, profile, 7, (), servers)

    assert plan.allowed == ["api.anthropic.com:443", "mcp.example.org:443", "127.0.0.1:8765"]
    assert plan.forwards == [("127.0.0.1", 8765)]
