"""Issue 15: hostile model servers, CLIs and children.

Endless or enormous model answers (both protocols, the real scripted model server),
tool arguments nested too deep to read, CLIs that print garbage and exit 0 or hang on
`--version`, and keys reaching the children that have no business with them.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seedbed.agents.cli.doctor import check
from seedbed.agents.cli.registry import adapter_for
from seedbed.agents.readiness import problem
from seedbed.domain.models import AgentKind
from seedbed.store import Store
from tests.conftest import SeedbedCli
from tests.keyring_backends import FileStore
from tests.model_server import (
    Answer,
    Endless,
    ModelServer,
    answer,
    anthropic_events,
    openai_events,
)

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


# --- endless or enormous model answers ----------------------------------------------


def builtin_profile(seedbed: SeedbedCli, wire: str, server: ModelServer, *extra: str) -> None:
    """A builtin profile on the model server at 127.0.0.1: a local server needs no key."""
    url = server.openai_url if wire == "openai" else server.url
    seedbed.ok("profile", "add", "bot", "--kind", "builtin", "--provider", wire,
               "--model", "test-model", "--base-url", url, *extra)  # fmt: skip


def stream_parts(wire: str) -> tuple[bytes, bytes, bytes]:
    """The opening events of an answer, one text delta, and one keep-alive, as `wire`
    sends them."""
    if wire == "openai":
        role, text, *_rest = openai_events(Answer(text=["."]), "test-model")
        return role, text, b": keep-alive\n\n"
    start, ping, block, text, *_rest = anthropic_events(Answer(text=["."]), "test-model")
    return start + block, text, ping


@pytest.mark.parametrize("what", ["keep-alives", "text"])
@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_an_endless_answer_is_cut_at_the_profiles_bound_retries_included(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, wire: str, what: str
) -> None:
    head, text, keep_alive = stream_parts(wire)
    piece = text if what == "text" else keep_alive
    endless = Endless(piece, head=head, every=0.02, seconds=60)
    model_server.script(endless, endless, endless)
    builtin_profile(seedbed, wire, model_server, "--max-call-seconds", "2",
                    "--read-timeout", "30", "--max-tries", "3")  # fmt: skip

    started = time.monotonic()
    task_id = start_task(seedbed, "bot")
    took = time.monotonic() - started

    shown = seedbed.show(task_id)
    assert shown["phase"] == "agent_failed"
    reason = shown["runs"][0]["reason"]
    assert "the model call took longer than 2 s in all (the profile's max_call_seconds)" in reason
    assert took < 5, f"three tries must share the 2 s, not take 2 s each ({took:.1f} s)"
    assert seedbed.ok("profile", "show", "bot").out.count("max call seconds: 2") == 1


# A child's ru_maxrss starts at its parent's high-water mark: Linux carries the mark of
# the image an exec replaces into the new one. Spawned from pytest (which after the whole
# suite has held well over 200 MiB), the engine would be charged pytest's peak. So a
# small Python starts the engine and reports the peak of that child alone.
MEASURE = """
import os, subprocess, sys
engine = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(engine.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def engine_memory(seedbed: SeedbedCli, tmp_path: Path) -> int:
    """`seedbed run --until-idle` as a real process: its own peak memory (bytes)."""
    report = tmp_path / "engine-peak"
    command = [sys.executable, "-m", "seedbed", "--data-dir", str(seedbed.data_dir)]
    measure = subprocess.run(
        [sys.executable, "-c", MEASURE, str(report), *command, "run", "--until-idle"],
        capture_output=True,
        text=True,
        check=False,
    )
    code, peak = report.read_text().split()
    assert int(code) == 0, measure.stdout + measure.stderr
    return int(peak) * 1024  # kilobytes on Linux


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in kilobytes on Linux only")
@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_an_enormous_event_fails_at_the_cap_with_flat_memory(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, wire: str, tmp_path: Path
) -> None:
    head, _text, _keep_alive = stream_parts(wire)
    line = 256 * 1024 * 1024  # one line of 256 MiB, sent a MiB at a time
    model_server.script(
        Endless(b"x" * (1024 * 1024), head=head + b"data: ", tail=b"\n\n", total=line)
    )
    builtin_profile(seedbed, wire, model_server, "--max-event-bytes", "1048576")
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", "Flood",
                         "--profile", "bot", "--start").out.strip()  # fmt: skip

    peak = engine_memory(seedbed, tmp_path)

    shown = seedbed.show(task_id)
    assert shown["phase"] == "agent_failed"
    assert shown["runs"][0]["reason"].endswith(
        "the model server sent an event larger than 1 MiB (the profile's max_event_bytes)"
    )
    assert len(model_server.posts) == 1  # not worth another try
    assert peak < 200 * 1024 * 1024, f"the engine grew to {peak >> 20} MiB"


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in kilobytes on Linux only")
def test_an_enormous_cli_line_fails_at_the_cap(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    line = 256 * 1024 * 1024
    flood = f"head -c {line} /dev/zero | tr '\\0' x; echo; echo '{{\"type\": \"result\"}}'"
    binary = fake_cli(tmp_path / "fake-claude", flood)
    seedbed.ok("profile", "add", "cli", "--kind", "claude-code", "--binary", binary,
               "--max-event-bytes", "65536")  # fmt: skip
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", "Flood",
                         "--profile", "cli", "--start").out.strip()  # fmt: skip

    peak = engine_memory(seedbed, tmp_path)

    assert peak < 200 * 1024 * 1024, f"the engine grew to {peak >> 20} MiB"
    shown = seedbed.show(task_id)
    assert shown["phase"] == "agent_failed"
    assert shown["runs"][0]["reason"] == (
        "Claude Code printed a line larger than 64 KiB (the profile's max_event_bytes)"
    )
    events = seedbed.log_events(task_id)
    assert any("bytes cut]" in e.get("line", "") for e in events if e["kind"] == "raw")


# --- tool arguments nested too deep -----------------------------------------------------


def test_opencode_ending_after_a_tool_step_has_no_result(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    """OpenCode's real lines up to its first step_finish (reason "tool-calls": another
    model call was to follow), then exit 0: a crash its wrapper hid, not a result."""
    recorded = Path(__file__).parents[1] / "agents/cli/recordings/opencode/write_file.jsonl"
    lines = recorded.read_text().splitlines()
    first_step = next(i for i, line in enumerate(lines) if '"step_finish"' in line)
    assert '"reason":"tool-calls"' in lines[first_step]
    printed = tmp_path / "printed.jsonl"
    printed.write_text("\n".join(lines[: first_step + 1]) + "\n")
    binary = fake_cli(tmp_path / "opencode", f"cat {printed}", version="1.18.33")
    seedbed.ok("profile", "add", "cli", "--kind", "opencode", "--binary", binary)

    task_id = start_task(seedbed, "cli")

    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    [run] = shown["runs"]
    assert (run["status"], run["exit_code"]) == ("failed", 0)
    assert "the agent ended without a result" in run["reason"]
    assert "final step_finish" in run["reason"]


@pytest.mark.parametrize("depth", [200_000, 300])  # 300: JSON reads it, the log could not
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_tool_arguments_nested_200000_deep_are_a_tool_error(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    provider: str,
    depth: int,
) -> None:
    url = model_server.openai_url if provider == "openai" else model_server.url
    seedbed.ok("key", "set", provider, input=KEY)
    seedbed.ok("profile", "add", "bot", "--kind", "builtin", "--provider", provider,
               "--model", "test-model", "--base-url", url, "--key-name", provider)  # fmt: skip
    deep = '{"path": ' + "[" * depth + "]" * depth + "}"
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


@pytest.mark.parametrize("depth", [200_000, 300])
def test_a_cli_line_nested_too_deep_is_kept_raw(
    seedbed: SeedbedCli, project: str, tmp_path: Path, depth: int
) -> None:
    nested = "[" * depth + "]" * depth
    tool_use = {"type": "tool_use", "id": "t1", "name": "Read", "input": {"x": "NESTED"}}
    assistant = {"type": "assistant", "message": {"content": [tool_use]}}
    lines = tmp_path / "lines.jsonl"
    lines.write_text(
        json.dumps(assistant).replace('"NESTED"', nested) + "\n"
        + '{"type": "result", "subtype": "success", "result": "done", "num_turns": 1}\n'
    )  # fmt: skip
    binary = fake_cli(tmp_path / "fake-claude", f"cat {lines}")
    seedbed.ok("profile", "add", "cli", "--kind", "claude-code", "--binary", binary)

    task_id = start_task(seedbed, "cli")

    shown = seedbed.show(task_id)
    assert shown["runs"][0]["status"] == "succeeded", shown["error"]
    events = seedbed.log_events(task_id)
    logged = json.dumps([e for e in events if e["kind"] in ("raw", "tool_call")])
    assert "nested" in logged


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


# --- keys in child environments -------------------------------------------------------

ENGINE_KEYS = {
    "OPENAI_API_KEY": "sk-openai-from-the-engine-1111",
    "ANTHROPIC_API_KEY": "sk-ant-from-the-engine-2222",
    "GEMINI_API_KEY": "gemini-from-the-engine-3333",
    "OPENROUTER_API_KEY": "sk-or-from-the-engine-4444",
}


def printed_environment(seedbed: SeedbedCli, task_id: str) -> str:
    return "\n".join(e.get("line", "") for e in seedbed.log_events(task_id))


def test_checks_setup_and_command_agents_get_no_keys(
    seedbed: SeedbedCli, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENGINE_KEYS.items():
        monkeypatch.setenv(name, value)
    seedbed.ok("project", "add", repo, "--name", "demo", "--setup", "echo setup; env",
               "--check", "echo check; env")  # fmt: skip
    seedbed.ok(
        "profile",
        "add",
        "printer",
        "--kind",
        "command",
        "--command",
        "echo agent; env > seen.txt; env",
    )

    task_id = start_task(seedbed, "printer")

    shown = seedbed.show(task_id)
    assert shown["phase"] == "ready", shown["error"]
    printed = printed_environment(seedbed, task_id)
    assert "setup" in printed and "check" in printed and "agent" in printed
    assert "HOME=" in printed  # the rest of the environment is there
    for name, value in ENGINE_KEYS.items():
        assert name not in printed and value not in printed
    assert "OPENAI_API_KEY" not in (Path(shown["worktree"]) / "seen.txt").read_text()


def test_checks_keep_the_projects_own_keys_and_the_log_names_those_withheld(
    seedbed: SeedbedCli,
    repo: Path,
    file_keyring: FileStore,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    project_keys = {"STRIPE_API_KEY": "sk_test_stripe-5555", "SENTRY_AUTH_TOKEN": "sntrys-6666"}
    provider_keys = {
        "OPENAI_API_KEY": ENGINE_KEYS["OPENAI_API_KEY"],
        "ANTHROPIC_API_KEY": ENGINE_KEYS["ANTHROPIC_API_KEY"],
        "MISTRAL_API_KEY": "mistral-from-the-engine-7777",  # stored in Seedbed's keyring
    }
    for name, value in (project_keys | provider_keys).items():
        monkeypatch.setenv(name, value)
    seedbed.ok("key", "set", "mistral", input="mistral-in-the-keyring-8888")
    seen = tmp_path / "seen.txt"  # outside the worktree: the log scrubs the keys it shows
    seedbed.ok("project", "add", repo, "--name", "demo", "--check", f"env > {seen}")
    seedbed.ok("profile", "add", "doer", "--kind", "command", "--command", "echo hi > hi.txt")

    task_id = start_task(seedbed, "doer")

    assert seedbed.show(task_id)["phase"] == "ready"
    checked = seen.read_text()
    for name, value in project_keys.items():
        assert f"{name}={value}\n" in checked
    for name in provider_keys:
        assert name not in checked
    notes = [
        e["message"] for e in seedbed.log_events(task_id) if "withheld" in e.get("message", "")
    ]
    assert len(notes) == 1, notes
    assert all(name in notes[0] for name in provider_keys), notes
    assert not any(name in notes[0] for name in project_keys), notes
    assert not any(value in notes[0] for value in provider_keys.values()), notes


def test_a_command_profile_gets_the_key_it_names(
    seedbed: SeedbedCli,
    project: str,
    file_keyring: FileStore,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ENGINE_KEYS["ANTHROPIC_API_KEY"])
    seedbed.ok("key", "set", "openai", input=KEY)
    seen = tmp_path / "seen.txt"  # outside the worktree: the log scrubs the key it shows
    command = f'echo "$SEEDBED_API_KEY $OPENAI_API_KEY ${{ANTHROPIC_API_KEY:-none}}" > {seen}'
    seedbed.ok("profile", "add", "printer", "--kind", "command", "--command", command,
               "--key-name", "openai")  # fmt: skip

    task_id = start_task(seedbed, "printer")

    assert seedbed.show(task_id)["phase"] == "ready"
    assert seen.read_text() == f"{KEY} {KEY} none\n"


# --- what the README says is confined ---------------------------------------------------


def test_the_readme_does_not_call_run_command_confined() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("### The built-in agent and API keys") :]
    section = " ".join(section[: section.index("\n### ")].split())
    assert "`run_command`) confined to that worktree" not in section
    assert "the five file tools are confined to the worktree" in section
    # run_command is confined by the sandbox, and only by it: without, it runs as you and
    # can read the engine's environment (tests/sandbox/test_escapes.py tries both).
    assert "with the profile's sandbox on (`--sandbox`" in section
    assert "without it, it runs as you" in section
    assert "does not get is the way to your keys" not in section
    assert "`/proc/<engine pid>/environ`" in section
