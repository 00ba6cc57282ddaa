"""A command-line call is quick: `seedbed task list` (and the other lists) load no more
than they use: not the engine, git, the agents' HTTP client or the keyring. Its time is
measured by the benchmark `cli_task_list_s` (tests/perf), not here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import SeedbedCli
from tests.test_cli import subprocess_env

# Modules the lists never need: loading any of them costs start-up time for nothing.
HEAVY = (
    "seedbed.engine",
    "seedbed.core",
    "seedbed.agents",
    "seedbed.vcs",
    "git",
    "httpx",
    "keyring",
    "asyncio",
)
# The light part of core the lists read through (the CLI reaches the store only through
# core): a Context, the plain reads, the data dir's settings and errors, the saved MCP
# servers (`mcp list`) and the settings' checks they use; no git, no agents.
LIGHT_CORE = {
    "seedbed.core",
    "seedbed.core.context",
    "seedbed.core.reads",
    "seedbed.core.data_dir",
    "seedbed.core.checking",
    "seedbed.core.mcp_servers",
}
PROBE = """
import io, json, sys
from seedbed.__main__ import open_window
from seedbed.cli import main
code = main(sys.argv[1:], out=io.StringIO(), gui=open_window)
print(json.dumps([code, sorted(sys.modules)]))
"""


@pytest.mark.parametrize(
    "args",
    [["task", "list"], ["project", "list"], ["profile", "list"], ["project", "show", "demo"]],
)
def test_the_lists_load_neither_the_engine_nor_git_nor_the_keyring(
    seedbed: SeedbedCli, project: str, args: list[str]
) -> None:
    seedbed.ok("task", "add", "--project", "demo", "--title", "Listed")
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "--data-dir", str(seedbed.data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    code, modules = json.loads(result.stdout)
    assert code == 0
    loaded = [
        m
        for m in modules
        if any(m == h or m.startswith(f"{h}.") for h in HEAVY) and m not in LIGHT_CORE
    ]
    assert loaded == []
    assert "platformdirs" not in modules  # the data dir was named: no default to look up
