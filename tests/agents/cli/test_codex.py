"""Codex: the command line (pure), its JSON lines as events (recorded from the real CLI),
and real runs of the pinned CLI through the engine against a Responses API server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from seedbed.agents.base import RunRequest
from seedbed.agents.cli.codex import ARG_LIMIT, OUTPUT_CAP, CodexAdapter, CodexParser
from seedbed.agents.cli.doctor import check
from seedbed.domain.errors import UserError
from seedbed.domain.events import (
    ErrorEvent,
    Event,
    RawEvent,
    StatusEvent,
    TextEvent,
    ToolCallEvent,
    ToolResultEvent,
    UsageEvent,
)
from seedbed.domain.models import AgentKind, AgentProfile, RunKind
from seedbed.sandbox.bwrap import sandbox_support
from tests.cli_tools import cli_binary, path_without, system_bwrap
from tests.conftest import SeedbedCli
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer, answer, hang, http_error

RECORDINGS = Path(__file__).parent / "recordings" / "codex"
KEY = "sk-test-codex-0a1b2c3d4e5f-NEVER-LOG"
WORKTREE = Path("/work/trees/7-hello")
HIGH_DEMAND = "We\u2019re currently experiencing high demand, which may cause temporary errors."
BASE = ["/bin/codex", "exec", "--json", "--color", "never", "--skip-git-repo-check"]


def profile(**fields: Any) -> AgentProfile:
    return AgentProfile(name="codex", kind=AgentKind.CODEX, **fields)


def request(prompt: str = "Write hello.txt", follow_up: str = "") -> RunRequest:
    return RunRequest(
        task_id=7, run_id=11, run_number=1, kind=RunKind.IMPLEMENT, title="Hello",
        prompt=prompt, worktree=WORKTREE, follow_up=follow_up,
    )  # fmt: skip


def prepare(
    settings: AgentProfile | None = None,
    req: RunRequest | None = None,
    env: dict[str, str] | None = None,
    session_id: str = "",
) -> Any:
    return CodexAdapter().prepare(
        settings or profile(), req or request(), "/bin/codex", env or {}, session_id
    )


def provider_table(argv: list[str]) -> dict[str, Any]:
    """The provider given by `-c model_providers.seedbed=…`, parsed as Codex parses it."""
    override = next(a for a in argv if a.startswith("model_providers.seedbed="))
    return tomllib.loads(override.replace("model_providers.seedbed=", "table = ", 1))["table"]


# prepare: pure


def test_a_plain_run_edits_the_worktree_with_stdin_closed() -> None:
    spec = prepare(env={"PATH": "/usr/bin"})
    assert spec.argv == [
        *BASE, "--sandbox", "workspace-write", "--cd", str(WORKTREE), "--", "Write hello.txt",
    ]  # fmt: skip
    assert spec.cwd == WORKTREE
    assert spec.stdin is None  # ManagedProcess gives the child /dev/null
    assert spec.env == {"PATH": "/usr/bin"}


def test_model_base_url_and_extra_args() -> None:
    settings = profile(
        model="gpt-test", base_url="https://models.example/v1",
        extra_args=["-c", "model_reasoning_effort=high"],
    )  # fmt: skip
    spec = prepare(settings, env={"OPENAI_API_KEY": KEY})
    assert spec.argv == [
        *BASE, "--sandbox", "workspace-write", "--model", "gpt-test",
        "-c", 'model_provider="seedbed"',
        "-c", 'model_providers.seedbed={ name = "Seedbed", base_url = "https://models.example/v1", '
              'wire_api = "responses", env_key = "OPENAI_API_KEY" }',
        "--cd", str(WORKTREE), "-c", "model_reasoning_effort=high", "--", "Write hello.txt",
    ]  # fmt: skip
    assert spec.env == {"OPENAI_API_KEY": KEY}
    assert KEY not in " ".join(spec.argv)


@pytest.mark.parametrize(
    "url",
    [
        'http://127.0.0.1:8080/v1?q="x"',
        "https://example.com/a\\b/v1",
        "https://exämple.com/😀/v1",
        "https://example.com/v1\n\t\x7f",
    ],
)
def test_the_base_url_is_quoted_for_toml(url: str) -> None:
    table = provider_table(prepare(profile(base_url=url)).argv)
    assert table["base_url"] == url
    assert table["wire_api"] == "responses"


def test_a_local_server_without_a_key_gets_no_env_key() -> None:
    local = profile(base_url="http://127.0.0.1:9/v1")
    assert "env_key" not in provider_table(prepare(local).argv)
    with_key = prepare(local, env={"OPENAI_API_KEY": KEY}).argv
    assert provider_table(with_key)["env_key"] == "OPENAI_API_KEY"
    # A remote server without a key: Codex says the variable is missing.
    remote = prepare(profile(base_url="https://models.example/v1")).argv
    assert provider_table(remote)["env_key"] == "OPENAI_API_KEY"


def test_a_follow_up_resumes_the_session() -> None:
    session = "01a220d9-7f27-7473-ac43-de6fdc43d0ac"
    spec = prepare(req=request(follow_up="Add a line"), session_id=session)
    assert spec.argv == [
        *BASE, "--sandbox", "workspace-write", "--cd", str(WORKTREE),
        "resume", session, "--", "Add a line",
    ]  # fmt: skip
    assert spec.stdin is None


def test_a_follow_up_without_a_session_starts_afresh_with_the_task() -> None:
    spec = prepare(req=request(follow_up="Add a line"))
    assert "resume" not in spec.argv
    assert spec.argv[-2:] == ["--", "Write hello.txt\n\nAdd a line"]


def test_a_session_id_that_looks_like_an_option_is_not_used() -> None:
    spec = prepare(req=request(follow_up="more"), session_id="--dangerously-bypass")
    assert "resume" not in spec.argv and "--dangerously-bypass" not in spec.argv


@pytest.mark.parametrize("prompt", ["resume", "-h", "--sandbox danger-full-access"])
def test_a_prompt_is_always_a_prompt(prompt: str) -> None:
    assert prepare(req=request(prompt)).argv[-2:] == ["--", prompt]


def test_a_prompt_too_long_for_an_argument_goes_on_stdin() -> None:
    prompt = "x" * (ARG_LIMIT + 1)
    spec = prepare(req=request(prompt))
    assert spec.argv[-2:] == ["--", "-"]
    assert spec.stdin == prompt.encode()
    resumed = prepare(req=request(follow_up=prompt), session_id="abc-1")
    assert resumed.argv[-4:] == ["resume", "abc-1", "--", "-"]
    assert resumed.stdin == prompt.encode()


@pytest.mark.parametrize(
    ("mode", "flags"),
    [
        ("read-only", ["--sandbox", "read-only"]),
        ("workspace-write", ["--sandbox", "workspace-write"]),
        ("danger-full-access", ["--sandbox", "danger-full-access"]),
        ("bypass", ["--dangerously-bypass-approvals-and-sandbox"]),
    ],
)
def test_the_permission_mode_is_the_sandbox(mode: str, flags: list[str]) -> None:
    argv = prepare(profile(permission_mode=mode)).argv
    assert argv[len(BASE) : len(BASE) + len(flags)] == flags
    assert argv.count("--sandbox") == (0 if mode == "bypass" else 1)


def test_an_unknown_permission_mode_is_refused() -> None:
    with pytest.raises(UserError, match=r"no permission mode 'acceptEdits'.*workspace-write"):
        prepare(profile(permission_mode="acceptEdits"))


def test_versions() -> None:
    adapter = CodexAdapter()
    assert adapter.parse_version("codex-cli 0.171.0") == (0, 171, 0)
    assert adapter.supports((0, 171, 0)) and not adapter.supports((0, 30, 0))
    assert "npm install -g @openai/codex" in adapter.install_hint
    assert (adapter.key_provider, adapter.key_env) == ("openai", "OPENAI_API_KEY")


# the parser, on what the real CLI printed (recordings/codex/record.py)


def parse(name: str, parser: CodexParser | None = None) -> tuple[CodexParser, list[Event]]:
    parser = parser or CodexParser()
    events: list[Event] = []
    for line in (RECORDINGS / name).read_text().splitlines():
        events.extend(parser.feed(line))
    return parser, events


def test_the_recorded_run_that_writes_a_file() -> None:
    parser, events = parse("write_file.jsonl")
    assert parser.session_id == "01a220d9-7f27-7473-ac43-de6fdc43d0ac"
    assert not parser.failed
    assert not [e for e in events if isinstance(e, RawEvent)]
    assert [type(e).__name__ for e in events] == [
        "StatusEvent", "ErrorEvent", "StatusEvent", "TextEvent",
        "ToolCallEvent", "ToolResultEvent", "ToolCallEvent", "ToolResultEvent",
        "TextEvent", "UsageEvent",
    ]  # fmt: skip
    session, metadata, reasoning = events[0], events[1], events[2]
    assert isinstance(session, StatusEvent) and session.message.endswith(parser.session_id)
    assert isinstance(metadata, ErrorEvent) and "Model metadata" in metadata.message
    assert reasoning == StatusEvent(
        phase="reasoning", message="**Writing hello.txt** with apply_patch, then checking it."
    )
    assert [e.text for e in events if isinstance(e, TextEvent)] == [
        "I will write the file.",
        "Done: hello.txt says hello.",
    ]
    edit, command = [e for e in events if isinstance(e, ToolCallEvent)]
    assert (edit.name, edit.tool_kind, edit.call_id) == ("apply_patch", "edit", "item_3")
    assert edit.arguments == {
        "changes": [{"path": "/tmp/tmp12hmz8te/work/hello.txt", "kind": "add"}]
    }
    assert (command.name, command.tool_kind) == ("command", "command")
    assert command.arguments == {"command": "/bin/bash -lc 'cat hello.txt'"}
    edited, ran = [e for e in events if isinstance(e, ToolResultEvent)]
    assert edited.output == "add /tmp/tmp12hmz8te/work/hello.txt" and not edited.is_error
    assert (ran.call_id, ran.output, ran.is_error) == ("item_4", "hello\n", False)
    assert ran.duration_ms is not None and ran.duration_ms >= 0
    assert events[-1] == UsageEvent(tokens_in=4400, tokens_out=75)


def test_the_recorded_resume_counts_only_its_own_tokens() -> None:
    first, _ = parse("write_file.jsonl")
    resumed = CodexParser()
    resumed.restore(first.saved())
    parser, events = parse("resume.jsonl", resumed)
    assert parser.session_id == first.session_id
    [call] = [e for e in events if isinstance(e, ToolCallEvent)]
    assert call.arguments == {"command": "/bin/bash -lc \"printf 'again\\\\n' >> hello.txt\""}
    assert [e.text for e in events if isinstance(e, TextEvent)] == ["Added a second line."]
    # Codex reports the thread's totals: 8500 in, 95 out, of which 4400 and 75 were run 1's.
    assert events[-1] == UsageEvent(tokens_in=4100, tokens_out=20)
    assert parser.saved() == {"tokens_in": 8500, "tokens_out": 95}
    _, alone = parse("resume.jsonl")
    assert alone[-1] == UsageEvent(tokens_in=8500, tokens_out=95)


def test_the_recorded_failed_turn() -> None:
    parser, events = parse("failed_turn.jsonl")
    assert parser.failed and parser.reason == HIGH_DEMAND
    assert events[-2:] == [ErrorEvent(message=HIGH_DEMAND), ErrorEvent(message=HIGH_DEMAND)]
    assert not [e for e in events if isinstance(e, UsageEvent)]


# the parser, on lines made by hand


def feed(*lines: str | dict[str, Any]) -> tuple[CodexParser, list[Event]]:
    parser = CodexParser()
    events: list[Event] = []
    for line in lines:
        events.extend(parser.feed(line if isinstance(line, str) else json.dumps(line)))
    return parser, events


@pytest.mark.parametrize(
    "line",
    [
        '{"type":"thread.renamed","name":"x"}',
        '{"type":"item.completed","item":{"id":"i","type":"collab_tool_call"}}',
        '{"type":"item.completed","item":{"id":"i","type":"agent_message","text":7}}',
        '{"type":"item.completed","item":"agent_message"}',
        '{"type":"thread.started"}',
        '{"no_type":true}',
        "[1, 2]",
        '{"type":"item.completed","item":{"id":"i","type":"agent_mess',
        "not json at all",
    ],
)
def test_what_it_does_not_understand_is_kept_raw(line: str) -> None:
    parser, events = feed(line)
    assert events == [RawEvent(line=line)]
    assert not parser.failed and not parser.session_id


def test_blank_lines_are_nothing() -> None:
    assert feed("", "   ")[1] == []


def test_a_failed_turn_fails_the_run() -> None:
    parser, events = feed(
        {"type": "thread.started", "thread_id": "t-1"},
        {"type": "turn.started"},
        {"type": "turn.failed", "error": {"message": "Missing environment variable"}},
    )
    assert parser.failed and parser.reason == "Missing environment variable"
    assert parser.session_id == "t-1"
    assert events[-1] == ErrorEvent(message="Missing environment variable")


def test_retry_notices_and_stream_errors_do_not_fail_the_run() -> None:
    parser, events = feed(
        {"type": "error", "message": "Reconnecting... 1/5 (stream disconnected)"},
        {"type": "error", "message": "something went wrong"},
        {"type": "item.completed", "item": {"id": "i", "type": "error", "message": "warn"}},
    )
    assert events == [
        StatusEvent(phase="retrying", message="Reconnecting... 1/5 (stream disconnected)"),
        ErrorEvent(message="something went wrong"),
        ErrorEvent(message="warn"),
    ]
    assert not parser.failed


def test_a_failed_command_and_a_long_output() -> None:
    item = {"id": "c1", "type": "command_execution", "command": "make", "status": "in_progress"}
    long = "a" * OUTPUT_CAP + "tail"
    done = item | {"status": "failed", "exit_code": 2, "aggregated_output": long}
    _, events = feed(
        {"type": "item.started", "item": item},
        {"type": "item.updated", "item": item},
        {"type": "item.completed", "item": done},
    )
    call, result = events
    assert isinstance(call, ToolCallEvent) and call.arguments == {"command": "make"}
    assert isinstance(result, ToolResultEvent) and result.is_error
    assert len(result.output) < OUTPUT_CAP + 100
    assert result.output.endswith("tail") and "characters cut" in result.output


def test_a_declined_command_without_its_start_seen() -> None:
    item = {"id": "c2", "type": "command_execution", "command": "rm -rf /", "status": "declined"}
    _, events = feed({"type": "item.completed", "item": item | {"exit_code": None}})
    call, result = events
    assert isinstance(call, ToolCallEvent) and call.call_id == "c2"
    assert isinstance(result, ToolResultEvent)
    assert (result.output, result.is_error, result.duration_ms) == ("declined", True, None)


def test_mcp_calls_web_searches_todo_lists_and_plans() -> None:
    mcp = {
        "id": "m1", "type": "mcp_tool_call", "server": "github", "tool": "search_issues",
        "arguments": {"q": "bug"}, "status": "in_progress", "result": None, "error": None,
    }  # fmt: skip
    mcp_done = mcp | {
        "status": "completed",
        "result": {"content": [{"type": "text", "text": "3 issues"}], "structured_content": None},
    }
    mcp_failed = mcp | {"id": "m2", "status": "failed", "error": {"message": "no auth"}}
    search = {"id": "w1", "type": "web_search", "query": "codex exec", "action": {}}
    steps = [{"text": "write", "completed": True}, {"text": "test", "completed": False}]
    todo = {"id": "t1", "type": "todo_list", "items": steps}
    _, events = feed(
        {"type": "item.started", "item": mcp},
        {"type": "item.completed", "item": mcp_done},
        {"type": "item.completed", "item": mcp_failed},
        {"type": "item.started", "item": search},
        {"type": "item.completed", "item": search},
        {"type": "item.started", "item": todo},
        {"type": "item.completed", "item": todo},
        {"type": "item.plan.delta", "item_id": "p1", "delta": "1. Do "},
        {"type": "item.completed", "item": {"id": "p1", "type": "plan", "text": "1. Do it"}},
    )
    summary = [
        (type(e).__name__, getattr(e, "name", ""), getattr(e, "tool_kind", "")) for e in events
    ]
    assert summary == [
        ("ToolCallEvent", "github.search_issues", "other"),
        ("ToolResultEvent", "github.search_issues", ""),
        ("ToolCallEvent", "github.search_issues", "other"),
        ("ToolResultEvent", "github.search_issues", ""),
        ("ToolCallEvent", "web_search", "search"),
        ("ToolResultEvent", "web_search", ""),
        ("StatusEvent", "", ""),
        ("TextEvent", "", ""),
        ("TextEvent", "", ""),
    ]
    assert events[0].arguments == {"q": "bug"}  # type: ignore[union-attr]
    assert events[1].output == "3 issues" and not events[1].is_error  # type: ignore[union-attr]
    assert events[3].output == "no auth" and events[3].is_error  # type: ignore[union-attr]
    assert events[6] == StatusEvent(phase="plan", message="[x] write\n[ ] test")
    assert events[7] == TextEvent(text="1. Do ", delta=True)
    assert events[8] == TextEvent(text="1. Do it")


def test_the_first_releases_item_type_key() -> None:
    _, events = feed(
        {"type": "item.completed", "item": {"id": "i", "item_type": "assistant_message",
                                            "text": "hi"}},
    )  # fmt: skip
    assert events == [TextEvent(text="hi")]


def test_doctor_finds_the_pinned_cli_supported(monkeypatch: pytest.MonkeyPatch) -> None:
    binary = cli_binary("codex")
    monkeypatch.setenv("PATH", f"{binary.parent}:/usr/bin:/bin")
    found = asyncio.run(check(CodexAdapter()))
    assert (found.path, found.supported) == (str(binary), True)
    assert found.version.startswith("0.171")


# the real CLI through the engine


@pytest.fixture(autouse=True)
def temp_dir_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A temporary directory that the test's HOME is not in, as a user's home is not:
    Codex will not set up its sandbox helper in a home under its temporary directory
    (TMPDIR, else /tmp), and the test's HOME is under /tmp (see codex_sandbox.py)."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))


def codex_profile(seedbed: SeedbedCli, server: ModelServer, *extra: str) -> None:
    seedbed.ok(
        "profile", "add", "codex", "--kind", "codex", "--binary", cli_binary("codex"),
        "--model", "test-model", "--base-url", server.openai_url, *extra,
    )  # fmt: skip


def run_task(seedbed: SeedbedCli, title: str = "Write hello.txt") -> dict[str, Any]:
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", title, "--start")
    seedbed.ok("run", "--until-idle")
    return seedbed.show(task_id.out.strip())


PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n"
WRITE_FILE = (
    answer(
        "I will write the file.",
        tool_calls=[("call_1", "exec_command", {"cmd": f"apply_patch <<'EOF'\n{PATCH}EOF\n"})],
        usage=(1200, 40),
        split_every=9,
    ),
    answer(tool_calls=[("call_2", "exec_command", {"cmd": "cat hello.txt"})], usage=(1500, 20)),
    answer("Done: hello.txt says hello.", usage=(1700, 15)),
)
ADD_LINE = (
    answer(
        tool_calls=[("call_3", "exec_command", {"cmd": "printf 'again\\n' >> hello.txt"})],
        usage=(2000, 12),
    ),
    answer("Added a second line.", usage=(2100, 8)),
)


@pytest.mark.parametrize("bwrap", ["installed", "hidden"])
def test_codex_writes_a_file_for_a_task(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    bwrap: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Codex sandboxes its commands with the bubblewrap on its PATH, else with its own.
    if bwrap == "installed":
        system_bwrap()
    else:
        monkeypatch.setenv("PATH", path_without("bwrap", tmp_path / "bin"))
        assert shutil.which("bwrap") is None
    seedbed.ok("key", "set", "openai", input=KEY)
    codex_profile(seedbed, model_server, "--key-name", "openai")
    model_server.script(*WRITE_FILE)

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert shown["diff"] == {"files": 1, "insertions": 1, "deletions": 0}
    assert (Path(shown["worktree"]) / "hello.txt").read_text() == "hello\n"
    assert "hello.txt" in seedbed.ok("task", "diff", str(shown["id"])).out
    [run] = shown["runs"]
    assert (run["status"], run["exit_code"]) == ("succeeded", 0)
    assert (run["tokens_in"], run["tokens_out"]) == (4400, 75)

    events = seedbed.log_events(shown["id"])
    texts = [e["text"] for e in events if e["kind"] == "text"]
    assert texts == ["I will write the file.", "Done: hello.txt says hello."]
    calls = [(e["name"], e["tool_kind"]) for e in events if e["kind"] == "tool_call"]
    assert calls == [("apply_patch", "edit"), ("command", "command")]
    results = [e for e in events if e["kind"] == "tool_result"]
    assert results[0]["output"].startswith("add ") and results[0]["output"].endswith("hello.txt")
    assert results[1]["output"] == "hello\n"
    assert [(e["tokens_in"], e["tokens_out"]) for e in events if e["kind"] == "usage"] == [
        (4400, 75)
    ]
    assert not [e for e in events if e["kind"] == "raw"]

    posts = model_server.posts
    assert [p.path for p in posts] == ["/v1/responses"] * 3
    assert posts[0].headers["authorization"] == f"Bearer {KEY}"
    body = posts[0].body
    assert (body["model"], body["stream"]) == ("test-model", True)
    assert "exec_command" in {tool.get("name") for tool in body["tools"]}
    assert body["input"][-1]["content"][0]["text"] == "Write hello.txt"
    # The tool's output went back to the model as the call's output.
    [output] = [i for i in posts[1].body["input"] if i.get("type") == "function_call_output"]
    assert output["call_id"] == "call_1" and "A hello.txt" in output["output"]
    assert KEY not in seedbed.ok("task", "log", str(shown["id"])).out


def test_a_local_server_without_a_key_gets_none(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    codex_profile(seedbed, model_server)
    model_server.script(answer("Hello from a local model."))
    shown = run_task(seedbed, "Say hello")
    assert shown["phase"] == "ready", shown["error"]
    assert "authorization" not in model_server.posts[0].headers


def follow_up(
    seedbed: SeedbedCli, model_server: ModelServer
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A task that writes hello.txt, then a request for changes; returns the task and the
    follow-up run's log."""
    model_server.script(*WRITE_FILE)
    first = run_task(seedbed)
    assert first["phase"] == "ready", first["error"]
    model_server.script(*ADD_LINE)
    seedbed.ok("task", "request-changes", str(first["id"]), "--message", "Add a line")
    seedbed.ok("run", "--until-idle")
    return seedbed.show(first["id"]), seedbed.log_events(first["id"], "--run", "2")


def test_request_changes_resumes_the_codex_session(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # the variable, with no keyring at all
    codex_profile(seedbed, model_server)

    shown, events = follow_up(seedbed, model_server)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert [r["status"] for r in shown["runs"]] == ["succeeded", "succeeded"]
    assert (Path(shown["worktree"]) / "hello.txt").read_text() == "hello\nagain\n"
    sessions = [e["message"] for e in seedbed.log_events(shown["id"], "--run", "1")
                if e["kind"] == "status" and e["phase"] == "session"]  # fmt: skip
    assert sessions and sessions == [
        e["message"] for e in events if e["kind"] == "status" and e["phase"] == "session"
    ]
    assert [e["text"] for e in events if e["kind"] == "text"] == ["Added a second line."]

    # The resumed thread: run 2's first request carries run 1's whole conversation.
    posts = model_server.posts
    assert len(posts) == 5
    resumed = posts[3].body["input"]
    said = [
        part["text"]
        for item in resumed
        if item.get("type") == "message"
        for part in item["content"]
        if part.get("type") in ("input_text", "output_text")
    ]
    assert said[-4:] == [
        "Write hello.txt", "I will write the file.", "Done: hello.txt says hello.", "Add a line",
    ]  # fmt: skip
    assert {i["call_id"] for i in resumed if i.get("type") == "function_call"} == {
        "call_1", "call_2",
    }  # fmt: skip
    assert posts[3].body["prompt_cache_key"] == posts[0].body["prompt_cache_key"]


def test_a_resumed_run_counts_only_its_own_tokens(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    codex_profile(seedbed, model_server)
    shown, _events = follow_up(seedbed, model_server)
    assert [(r["tokens_in"], r["tokens_out"]) for r in shown["runs"]] == [(4400, 75), (4100, 20)]


def test_a_failed_turn_fails_the_task_with_codex_reason(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    no_retries = [
        f"--extra-arg={arg}"
        for setting in ("request_max_retries", "stream_max_retries")
        for arg in ("-c", f"model_providers.seedbed.{setting}=0")
    ]
    codex_profile(seedbed, model_server, *no_retries)
    model_server.script(http_error(500, "the model is down"))
    shown = run_task(seedbed)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["error"] == HIGH_DEMAND  # what Codex 0.171 says for a 500
    assert shown["runs"][0]["status"] == "failed"
    assert len(model_server.posts) == 1


def test_a_silent_codex_is_ended_by_the_idle_timeout(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    codex_profile(seedbed, model_server, "--idle-timeout", "2")
    model_server.script(hang(60))
    started = time.monotonic()
    shown = run_task(seedbed)
    assert time.monotonic() - started < 20
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["error"] == "Codex printed nothing for 2 s"
    assert shown["runs"][0]["status"] == "timed_out"
    assert len(model_server.posts) == 1


def test_a_home_where_codex_cannot_set_up_its_sandbox_fails_the_run_with_why(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the home is in the temporary directory
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    bwrap = bin_dir / "bwrap"  # what Codex looks for on PATH; never run
    bwrap.write_text("#!/bin/sh\nexit 1\n")
    bwrap.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    codex_profile(seedbed, model_server)
    shown = run_task(seedbed)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["error"].startswith(
        "the agent could not start: Codex cannot start its sandboxed commands here: its "
        f"home {home}/.codex is under the temporary directory {tmp_path}, "
    )
    assert f"bubblewrap at {bwrap}" in shown["error"] and "CODEX_HOME" in shown["error"]
    assert not model_server.posts

    # Outside the sandbox Codex needs no helper.
    seedbed.ok(
        "profile", "add", "unboxed", "--kind", "codex", "--binary", cli_binary("codex"),
        "--model", "test-model", "--base-url", model_server.openai_url,
        "--permission-mode", "danger-full-access",
    )  # fmt: skip
    model_server.script(answer("Hello."))
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", "Say hello",
                         "--profile", "unboxed", "--start")  # fmt: skip
    seedbed.ok("run", "--until-idle")
    assert seedbed.show(task_id.out.strip())["phase"] == "ready"


def test_a_planner_or_reviewer_runs_in_the_read_only_sandbox() -> None:
    for kind in (RunKind.PLAN, RunKind.REVIEW):
        req = request(follow_up="Plan this task.").model_copy(update={"kind": kind})
        argv = prepare(profile(permission_mode="danger-full-access"), req).argv
        assert argv[len(BASE) : len(BASE) + 2] == ["--sandbox", "read-only"], kind


def test_codex_works_in_a_sandbox_with_the_model_network(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
) -> None:
    """Its edits and its commands run in Seedbed's sandbox: it reaches the model server
    through the proxy, writes its worktree, and a command cannot write the home."""
    if not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    seedbed.ok("key", "set", "openai", input=KEY)
    codex_profile(seedbed, model_server, "--key-name", "openai", "--sandbox", "--network", "model")
    escaped = Path.home() / "escaped.txt"
    model_server.script(
        answer(
            tool_calls=[("call_1", "exec_command", {"cmd": f"apply_patch <<'EOF'\n{PATCH}EOF\n"})],
            usage=(1200, 40),
        ),
        answer(
            tool_calls=[("call_2", "exec_command", {"cmd": f"echo out > {escaped}; echo tried"})],
            usage=(1300, 20),
        ),
        answer("Done.", usage=(1500, 12)),
    )

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert (Path(shown["worktree"]) / "hello.txt").read_text() == "hello\n"
    assert not escaped.exists()
    assert len(model_server.posts) == 3
    events = seedbed.log_events(shown["id"])
    assert any(
        e["kind"] == "status" and e["message"].startswith("sandbox: network model") for e in events
    )
    command = [e for e in events if e["kind"] == "tool_result"][1]
    assert "Read-only file system" in command["output"], command
    # Its usage metrics are off: not even tried.
    assert not [e for e in events if "refused connect to ab.chatgpt.com" in e.get("message", "")]


def test_a_read_only_codex_may_not_write_its_worktree_in_seedbeds_sandbox(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A read-only Codex (a planner, a reviewer, a read-only profile) gets its worktree
    read-only in Seedbed's sandbox; its own sandbox is off there (nested, it cannot map
    its user where Seedbed dropped every capability, as when it runs as root)."""
    if not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    system_bwrap()
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with tempfile.TemporaryDirectory(dir="/var/tmp") as home:  # not under /tmp
        monkeypatch.setenv("CODEX_HOME", home)
        codex_profile(seedbed, model_server, "--permission-mode", "read-only",
                      "--sandbox", "--network", "model")  # fmt: skip
        model_server.script(
            answer(tool_calls=[("call_1", "exec_command", {"cmd": "echo hi > hello.txt"})]),
            answer("Could not write it."),
        )
        shown = run_task(seedbed)
        # Its home, written from inside: Seedbed's copy for the task, not the user's.
        copy = seedbed.data_dir / "sandbox" / "homes" / f"task-{shown['id']}"
        assert (copy / Path(home).relative_to("/") / "sessions").is_dir()
        assert not Path(home, "sessions").exists()

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert not (Path(shown["worktree"]) / "hello.txt").exists()
    # What the command's refusal told the model (Codex 0.171 prints no item for it).
    inputs = model_server.posts[1].body["input"]
    [output] = [i["output"] for i in inputs if i.get("type") == "function_call_output"]
    assert "hello.txt: Read-only file system" in output, output


def test_a_sandboxed_codex_resumes_its_session_for_a_follow_up(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its sessions are kept in its home, Seedbed's copy the sandbox lets it write."""
    if not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    codex_profile(seedbed, model_server, "--sandbox", "--network", "model")

    shown, _events = follow_up(seedbed, model_server)

    assert [r["status"] for r in shown["runs"]] == ["succeeded", "succeeded"], shown["error"]
    assert (Path(shown["worktree"]) / "hello.txt").read_text() == "hello\nagain\n"
    resumed = json.dumps(model_server.posts[3].body["input"])
    assert "Done: hello.txt says hello." in resumed and "Add a line" in resumed
    # In Seedbed's copy of its home for the profile: the user's own is never written.
    homes = seedbed.data_dir / "sandbox" / "homes"
    assert list(homes.glob("*/.codex/sessions/**/*.jsonl"))
    assert not (Path.home() / ".codex" / "sessions").exists()
