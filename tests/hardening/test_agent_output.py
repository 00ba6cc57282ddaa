"""Issue 15: hostile model servers, CLIs and children.

Endless or enormous model answers (both protocols, the real scripted model server),
tool arguments nested too deep to read, CLIs that print garbage and exit 0 or hang on
`--version`, and keys reaching the children that have no business with them.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from seedbed.agents.cli.doctor import check
from seedbed.agents.cli.registry import adapter_for
from seedbed.agents.readiness import problem
from seedbed.domain.models import AgentKind
from seedbed.store import Store
from tests.conftest import SeedbedCli
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer, answer

KEY = "sk-test-hardening-5f4e3d2c1b0a-NEVER-PRINT"


def fake_cli(path: Path, body: str, version: str = "99.0.0") -> Path:
    """An executable that answers `--version` with `version` and otherwise runs `body`."""
    path.write_text(
        f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo {version}; exit 0; fi\n{body}\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def start_task(seedbed: SeedbedCli, profile: str, title: str = "Do it") -> str:
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", title, "--profile", profile, "--start"
    ).out.strip()
    seedbed.ok("run", "--until-idle")
    return task_id


# --- tool arguments nested too deep -----------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_tool_arguments_nested_200000_deep_are_a_tool_error(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    provider: str,
) -> None:
    url = model_server.openai_url if provider == "openai" else model_server.url
    seedbed.ok("key", "set", provider, input=KEY)
    seedbed.ok("profile", "add", "bot", "--kind", "builtin", "--provider", provider,
               "--model", "test-model", "--base-url", url, "--key-name", provider)  # fmt: skip
    deep = '{"path": ' + "[" * 200_000 + "]" * 200_000 + "}"
    model_server.script(
        answer(tool_calls=[("call_1", "read_file", deep)], arg_split=1_000_000),
        answer("I will stop here."),
    )

    task_id = start_task(seedbed, "bot")

    shown = seedbed.show(task_id)
    assert shown["runs"][0]["status"] == "succeeded", shown["error"]
    assert len(model_server.posts) == 2
    second = json.dumps(model_server.posts[1].body)
    assert "nested too deeply" in second
    results = [e for e in seedbed.log_events(task_id) if e["kind"] == "tool_result"]
    assert results and results[0]["is_error"] and "nested too deeply" in results[0]["output"]


# --- CLIs that print garbage and exit 0 -------------------------------------------------

RESULT_EVENTS = {
    "claude-code": "result",
    "codex": "turn.completed",
    "gemini": "result",
    "opencode": "step_finish",
}


@pytest.mark.parametrize("kind", sorted(RESULT_EVENTS))
def test_a_cli_that_prints_garbage_and_exits_0_failed(
    seedbed: SeedbedCli, project: str, tmp_path: Path, kind: str
) -> None:
    binary = fake_cli(tmp_path / "fake-cli", "echo 'garbage { not json'; echo '{\"type\": \"x\"}'")
    # Codex's own sandbox needs bubblewrap; the fake CLI needs none.
    mode = ("--permission-mode", "danger-full-access") if kind == "codex" else ()
    seedbed.ok("profile", "add", "cli", "--kind", kind, "--binary", binary, *mode)

    task_id = start_task(seedbed, "cli")

    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    [run] = shown["runs"]
    assert (run["status"], run["exit_code"]) == ("failed", 0)
    assert "the agent ended without a result" in run["reason"]
    assert RESULT_EVENTS[kind] in run["reason"]


# --- a CLI whose --version hangs --------------------------------------------------------


def test_a_cli_whose_version_hangs_is_said_to_hang(
    seedbed: SeedbedCli,
    project: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SEEDBED_VERSION_TIMEOUT", "1")
    hanging = tmp_path / "bin" / "claude"
    hanging.parent.mkdir()
    hanging.write_text("#!/bin/sh\nexec sleep 600\n")
    hanging.chmod(0o755)
    seedbed.ok("profile", "add", "cli", "--kind", "claude-code", "--binary", hanging)

    started = time.monotonic()
    task_id = start_task(seedbed, "cli")
    said = problem(Store.open(seedbed.data_dir).find_profile("cli"))
    monkeypatch.setenv("PATH", f"{hanging.parent}{os.pathsep}{os.environ['PATH']}")
    found = asyncio.run(check(adapter_for(AgentKind.CLAUDE_CODE)))

    wanted = f"Claude Code at {hanging} did not answer --version within 1 s"
    shown = seedbed.show(task_id)
    assert shown["phase"] == "agent_failed"
    assert wanted in shown["runs"][0]["reason"]
    assert wanted in said
    assert (found.supported, found.hint) == (False, "it did not answer --version within 1 s")
    assert time.monotonic() - started < 20
