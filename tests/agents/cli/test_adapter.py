"""The shared machinery of coding-agent CLI adapters, with a tiny real CLI of our own."""

from __future__ import annotations

import asyncio
import json
import stat
import sys
import time
from pathlib import Path

import pytest

from seedbed.agents.base import RunRequest
from seedbed.agents.cli.adapter import (
    CliAdapter,
    CliRuntime,
    StreamParser,
    find_binary,
    session_of,
)
from seedbed.agents.process import ProcessSpec
from seedbed.domain.errors import UserError
from seedbed.domain.events import Event, RawEvent, TextEvent
from seedbed.domain.models import AgentKind, AgentProfile, RunKind, RunStatus
from seedbed.store import Store
from tests.conftest import SeedbedCli

FAKE_CLI = """#!{python}
import json, sys, time, os
if sys.argv[1:] == ["--version"]:
    print("fake-cli 2.3.4")
    sys.exit(0)
mode = os.environ.get("FAKE_MODE", "ok")
print(json.dumps({{"type": "session", "id": "sess-42", "resumed": sys.argv[1:]}}), flush=True)
print(json.dumps({{"type": "text", "text": "hello " + " ".join(sys.argv[1:])}}), flush=True)
print("not json at all", flush=True)
sys.stdout.write('{{"type": "text", ')
sys.stdout.flush()
time.sleep(0.2)
sys.stdout.write('"text": "split across reads"}}\\n')
sys.stdout.flush()
print("a warning", file=sys.stderr, flush=True)
if mode == "idle":
    time.sleep(600)
if mode == "error":
    print(json.dumps({{"type": "error", "text": "quota exceeded"}}), flush=True)
    sys.exit(3)
"""


class FakeParser(StreamParser):
    def feed(self, line: str) -> list[Event]:
        try:
            data = json.loads(line)
        except ValueError:
            return [RawEvent(line=line)]
        if data["type"] == "session":
            self.session_id = data["id"]
            return []
        if data["type"] == "error":
            self.failed = True
            self.reason = data["text"]
            return []
        return [TextEvent(text=data["text"])]


class FakeAdapter(CliAdapter):
    kind = AgentKind.CLAUDE_CODE
    label = "Fake CLI"
    binary = "fake-cli-that-is-not-installed"
    install_hint = "Install it with `pip install fake-cli`."
    key_provider = "anthropic"
    key_env = "FAKE_KEY"
    min_version = (2, 0)

    def prepare(self, profile, request, binary, env, session_id) -> ProcessSpec:
        args = ["--resume", session_id] if session_id else [request.prompt]
        return ProcessSpec(argv=[binary, *args], cwd=request.worktree, env=env)

    def parser(self) -> StreamParser:
        return FakeParser()


@pytest.fixture
def fake_cli(tmp_path: Path) -> Path:
    path = tmp_path / "bin" / "fake-cli"
    path.parent.mkdir()
    path.write_text(FAKE_CLI.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def request(tmp_path: Path, conversation: str = "") -> RunRequest:
    return RunRequest(
        task_id=1, run_id=7, run_number=1, kind=RunKind.IMPLEMENT, title="T", prompt="do it",
        worktree=tmp_path, conversation=conversation,
    )  # fmt: skip


def run(profile: AgentProfile, req: RunRequest, key: str | None = None):
    async def main():
        from pydantic import SecretStr

        agent = await CliRuntime(profile, FakeAdapter(), SecretStr(key) if key else None).start(req)
        events = [event async for batch in agent.events() for event in batch]
        return agent, events

    return asyncio.run(main())


def test_lines_become_events_and_the_session_is_kept(fake_cli: Path, tmp_path: Path) -> None:
    profile = AgentProfile(name="f", kind=AgentKind.CLAUDE_CODE, binary=str(fake_cli))
    agent, events = run(profile, request(tmp_path))
    assert agent.outcome.status is RunStatus.SUCCEEDED
    texts = [e.text for e in events if isinstance(e, TextEvent)]
    assert texts == ["hello do it", "split across reads"]  # a line split across reads
    assert [e.line for e in events if isinstance(e, RawEvent)] == ["not json at all"]
    assert any(getattr(e, "line", "") == "a warning" for e in events)  # stderr kept
    assert json.loads(agent.conversation) == {"session_id": "sess-42"}

    agent, events = run(profile, request(tmp_path, agent.conversation))
    assert "hello --resume sess-42" in [e.text for e in events if isinstance(e, TextEvent)]


def test_a_reported_failure_fails_the_run(
    fake_cli: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MODE", "error")
    profile = AgentProfile(name="f", kind=AgentKind.CLAUDE_CODE, binary=str(fake_cli))
    agent, _events = run(profile, request(tmp_path))
    assert (agent.outcome.status, agent.outcome.reason) == (RunStatus.FAILED, "quota exceeded")


def test_a_silent_cli_is_ended_at_the_idle_timeout(
    fake_cli: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MODE", "idle")
    profile = AgentProfile(
        name="f", kind=AgentKind.CLAUDE_CODE, binary=str(fake_cli), idle_timeout=1
    )
    started = time.monotonic()
    agent, _events = run(profile, request(tmp_path))
    assert time.monotonic() - started < 8
    assert agent.outcome.status is RunStatus.TIMED_OUT
    assert agent.outcome.reason == "Fake CLI printed nothing for 1 s"


def test_the_key_reaches_the_cli_only_as_its_variable(fake_cli: Path, tmp_path: Path) -> None:
    script = tmp_path / "bin" / "fake-cli"
    script.write_text(
        script.read_text().replace(
            'mode = os.environ.get("FAKE_MODE", "ok")',
            'mode = "ok"; print(json.dumps({"type": "text", "text": os.environ["FAKE_KEY"]}))',
        )
    )
    profile = AgentProfile(name="f", kind=AgentKind.CLAUDE_CODE, binary=str(fake_cli))
    _agent, events = run(profile, request(tmp_path), key="sk-fake-123456789")
    assert "sk-fake-123456789" in [e.text for e in events if isinstance(e, TextEvent)]


def test_a_missing_binary_says_how_to_install_it() -> None:
    profile = AgentProfile(name="f", kind=AgentKind.CLAUDE_CODE)
    with pytest.raises(UserError, match=r"Fake CLI is not installed: .*pip install fake-cli"):
        find_binary(FakeAdapter(), profile)


def test_an_old_version_is_refused_clearly(fake_cli: Path, tmp_path: Path) -> None:
    fake_cli.write_text(fake_cli.read_text().replace("2.3.4", "1.9.0"))
    profile = AgentProfile(name="f", kind=AgentKind.CLAUDE_CODE, binary=str(fake_cli))
    with pytest.raises(UserError, match=r"reports 'fake-cli 1.9.0'; Seedbed needs 2.0 or newer"):
        run(profile, request(tmp_path))


def test_session_of_reads_only_what_a_cli_run_saved() -> None:
    assert session_of('{"session_id": "abc"}') == "abc"
    assert session_of("") == session_of("not json") == session_of("[1, 2]") == ""


def test_agents_doctor_names_every_cli(seedbed: SeedbedCli, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # none of the CLIs
    found = seedbed.ok("agents", "doctor", "--json").json()
    assert {f["kind"] for f in found} == {"claude-code", "codex", "aider", "gemini", "opencode"}
    assert all(f["path"] == "" and f["hint"] for f in found)
    assert "not found" in seedbed.ok("agents", "doctor").out


def test_a_cli_profile_without_its_cli_fails_the_task_clearly(
    seedbed: SeedbedCli, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seedbed.ok("profile", "add", "cc", "--kind", "claude-code", "--binary", "/nonexistent/claude")
    task = seedbed.ok("task", "add", "--project", "demo", "--title", "T", "--start").out.strip()
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert "Claude Code is not installed" in shown["error"]
    assert "npm install" in shown["error"]
    assert Store.open(seedbed.data_dir).list_runs(int(task))[0].status is RunStatus.FAILED


def test_a_cli_gets_a_stored_key_only_when_its_profile_names_it(
    file_keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stored key would override the CLI's own login (a subscription) and bill the API."""
    from seedbed import secrets
    from seedbed.agents.keys import key_for

    secrets.set_key("anthropic", "sk-ant-stored-key-123456")
    plain = AgentProfile(name="cc", kind=AgentKind.CLAUDE_CODE)
    named = AgentProfile(name="cc", kind=AgentKind.CLAUDE_CODE, key_name="anthropic")
    assert key_for(plain) is None
    found = key_for(named)
    assert found is not None and found.get_secret_value() == "sk-ant-stored-key-123456"


def test_extra_args_that_look_like_flags_are_taken(seedbed: SeedbedCli) -> None:
    seedbed.ok(
        "profile", "add", "a", "--kind", "aider",
        "--extra-arg", "--edit-format", "--extra-arg", "diff", "--extra-arg=--no-stream",
    )  # fmt: skip
    [profile] = seedbed.ok("profile", "list", "--json").json()
    assert profile["extra_args"] == ["--edit-format", "diff", "--no-stream"]


def test_a_named_key_that_is_missing_fails_the_run(file_keyring) -> None:
    from seedbed.agents.keys import key_for

    named = AgentProfile(name="cc", kind=AgentKind.CLAUDE_CODE, key_name="work")
    with pytest.raises(UserError, match=r"no API key 'work' .*seedbed key set work"):
        key_for(named)


def test_stderr_chatter_does_not_keep_an_idle_cli_alive(fake_cli: Path, tmp_path: Path) -> None:
    fake_cli.write_text(
        fake_cli.read_text().replace(
            'if mode == "idle":\n    time.sleep(600)',
            'while True:\n    print("retrying", file=sys.stderr, flush=True); time.sleep(0.3)',
        )
    )
    profile = AgentProfile(
        name="f", kind=AgentKind.CLAUDE_CODE, binary=str(fake_cli), idle_timeout=1.5
    )
    started = time.monotonic()
    agent, _events = run(profile, request(tmp_path))
    assert agent.outcome.status is RunStatus.TIMED_OUT
    assert time.monotonic() - started < 10
