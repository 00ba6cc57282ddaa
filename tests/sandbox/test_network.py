"""A sandboxed run with network `model` reaches the hosts it is allowed, through the
filtering proxy Seedbed runs, and nothing else; a refusal is said in its log. A real
engine, a real command agent, real bubblewrap, real HTTP servers on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedbed.sandbox.bwrap import sandbox_support
from tests.conftest import SeedbedCli, git

pytestmark = pytest.mark.skipif(
    not sandbox_support().works, reason=f"no sandbox here: {sandbox_support().problem}"
)

FETCH = (
    "import sys, urllib.request\n"
    "try:\n"
    "    print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode().strip())\n"
    "except Exception as exc:\n"
    "    print('failed:', exc)\n"
)


def agent_command(allowed: str, other: str) -> str:
    fetch = "python3 fetch.py"
    return (
        f"{fetch} {allowed} > allowed.txt; {fetch} {other} > other.txt; "
        f"{fetch} http://example.org/ > far.txt"
    )


def test_a_model_network_reaches_the_allowed_host_only(
    seedbed: SeedbedCli, repo: Path, plain_server: int, other_server: str
) -> None:
    (repo / "fetch.py").write_text(FETCH)
    git(repo, "add", "fetch.py")
    git(repo, "commit", "-q", "-m", "fetch")
    allowed = f"http://127.0.0.1:{plain_server}/"
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    command = agent_command(allowed, other_server.replace(str(plain_server), "1"))
    seedbed.ok(
        "profile", "add", "boxed", "--kind", "command", "--command", command,
        "--sandbox", "--network", "model", "--allow-host", f"127.0.0.1:{plain_server}",
    )  # fmt: skip
    task_id = int(
        seedbed.ok(
            "task", "add", "--project", "demo", "--title", "Fetch", "--profile", "boxed",
            "--start",
        ).out.strip()
    )  # fmt: skip

    seedbed.ok("run", "--until-idle")

    worktree = Path(seedbed.show(task_id)["worktree"])
    assert (worktree / "allowed.txt").read_text() == "the plain server's secret\n"
    assert (worktree / "other.txt").read_text().startswith("failed:")
    far = (worktree / "far.txt").read_text()
    assert far.startswith("failed:") and "403" in far, far
    messages = [str(e.get("message", "")) for e in seedbed.log_events(task_id)]
    refused = [m for m in messages if m.startswith("sandbox: refused connect to")]
    assert refused == [
        "sandbox: refused connect to example.org:80 (not an allowed host: a profile or "
        "project can add it with --allow-host)"
    ], messages
