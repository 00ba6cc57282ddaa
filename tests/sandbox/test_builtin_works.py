"""The built-in agent, sandboxed, still does its work: it edits files with its tools and
runs the project's tests with run_command, over either API (its model calls are
Seedbed's own, outside the sandbox); the project's checks pass in the sandbox too."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedbed.sandbox.bwrap import sandbox_support
from tests.conftest import SeedbedCli, make_repo
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer, answer

pytestmark = pytest.mark.skipif(
    not sandbox_support().works, reason=f"no sandbox here: {sandbox_support().problem}"
)

SOURCE = "def add(a, b):\n    return a - b\n"
TESTS = (
    "import unittest\nfrom calc import add\n\n"
    "class T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n"
)
FIXED = "def add(a, b):\n    return a + b\n"
UNITTEST = "python3 -m unittest -q test_calc"


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_the_sandboxed_builtin_agent_fixes_a_bug_and_runs_the_tests(
    seedbed: SeedbedCli,
    tmp_path: Path,
    model_server: ModelServer,
    file_keyring: FileStore,
    provider: str,
) -> None:
    repo = make_repo(tmp_path / "repo", {"calc.py": SOURCE, "test_calc.py": TESTS})
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", UNITTEST)
    seedbed.ok("key", "set", provider, input="sk-test-key")
    url = model_server.openai_url if provider == "openai" else model_server.url
    seedbed.ok(
        "profile", "add", "boxed", "--kind", "builtin", "--provider", provider,
        "--model", "test-model", "--base-url", url, "--key-name", provider,
        "--sandbox", "--network", "model",
    )  # fmt: skip
    model_server.script(
        answer(tool_calls=[("c1", "write_file", {"path": "calc.py", "content": FIXED})]),
        answer(tool_calls=[("c2", "run_command", {"command": UNITTEST})]),
        answer("Fixed add; the tests pass."),
    )
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Fix add", "--start"
    ).out.strip()

    seedbed.ok("run", "--until-idle")

    shown = seedbed.show(int(task_id))
    assert (shown["phase"], shown["checks"]["status"]) == ("ready", "passed"), shown["error"]
    assert (Path(shown["worktree"]) / "calc.py").read_text() == FIXED
    events = seedbed.log_events(int(task_id))
    [ran] = [e for e in events if e["kind"] == "tool_result" and e.get("name") == "run_command"]
    assert "OK" in ran["output"] and not ran["is_error"], ran
    assert any(str(e.get("message", "")).startswith("sandbox: network model") for e in events)
