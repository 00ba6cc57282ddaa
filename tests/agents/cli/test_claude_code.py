"""Claude Code: the pure prepare, the parser on output recorded from the real CLI, and
the real CLI end to end through the engine against a scripted Anthropic server."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from seedbed.agents.base import RunRequest
from seedbed.agents.cli.claude_code import (
    ARGV_PROMPT_LIMIT,
    ClaudeCodeAdapter,
    ClaudeCodeParser,
)
from seedbed.agents.cli.registry import adapter_for
from seedbed.agents.text import LOG_LIMIT
from seedbed.domain.events import (
    ErrorEvent,
    Event,
    RawEvent,
    StatusEvent,
    TextEvent,
    ToolCallEvent,
    ToolKind,
    ToolResultEvent,
    UsageEvent,
)
from seedbed.domain.models import AgentKind, AgentProfile, RunKind
from seedbed.sandbox.bwrap import sandbox_support
from seedbed.store import Store
from tests.cli_tools import cli_binary
from tests.conftest import SeedbedCli
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer, anthropic_answer, hang

RECORDINGS = Path(__file__).parent / "recordings" / "claude_code"
BINARY = "/opt/bin/claude"
KEY = "sk-ant-test-5e4d3c2b1a-NEVER-LOG-THIS"
BASE = [BINARY, "-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages"]
DEFAULT_PERMISSIONS = ["--permission-mode", "acceptEdits", "--allowedTools", "Bash"]


def profile(**fields: Any) -> AgentProfile:
    return AgentProfile(name="cc", kind=AgentKind.CLAUDE_CODE, **fields)


def request(tmp_path: Path, **fields: Any) -> RunRequest:
    values: dict[str, Any] = {
        "task_id": 7,
        "run_id": 9,
        "run_number": 1,
        "kind": RunKind.IMPLEMENT,
        "title": "Add a greeting",
        "prompt": "Write hello.txt saying hello.",
        "worktree": tmp_path,
    }
    values.update(fields)
    return RunRequest(**values)


def prepare(
    tmp_path: Path,
    prof: AgentProfile | None = None,
    env: dict[str, str] | None = None,
    session_id: str = "",
    **fields: Any,
) -> Any:
    return ClaudeCodeAdapter().prepare(
        prof or profile(), request(tmp_path, **fields), BINARY, env or {"PATH": "/bin"}, session_id
    )


def parse(name: str) -> tuple[ClaudeCodeParser, list[Event]]:
    parser = ClaudeCodeParser()
    events: list[Event] = []
    for line in (RECORDINGS / f"{name}.jsonl").read_text().splitlines():
        events.extend(parser.feed(line))
    return parser, events


def feed(*lines: Any) -> tuple[ClaudeCodeParser, list[Event]]:
    parser = ClaudeCodeParser()
    events: list[Event] = []
    for line in lines:
        events.extend(parser.feed(line if isinstance(line, str) else json.dumps(line)))
    return parser, events


# -- prepare ------------------------------------------------------------------------------


def test_a_first_run_asks_for_the_task_in_print_mode_with_edits_and_commands_allowed(
    tmp_path: Path,
) -> None:
    spec = prepare(tmp_path)
    prompt = "Add a greeting\n\nWrite hello.txt saying hello."
    assert spec.argv == [*BASE, *DEFAULT_PERMISSIONS, "--", prompt]
    assert spec.cwd == tmp_path
    assert spec.stdin is None


def test_model_permission_mode_and_extra_args_come_from_the_profile(tmp_path: Path) -> None:
    prof = profile(
        model="claude-sonnet-4-5",
        permission_mode="bypassPermissions",
        extra_args=["--max-budget-usd", "2", "--allowedTools", "WebFetch"],
        timeout=900,
        grace_seconds=2,
    )
    spec = prepare(tmp_path, prof)
    assert spec.argv == [
        *BASE, "--model", "claude-sonnet-4-5", "--permission-mode", "bypassPermissions",
        "--max-budget-usd", "2", "--allowedTools", "WebFetch",
        "--", "Add a greeting\n\nWrite hello.txt saying hello.",
    ]  # fmt: skip
    assert (spec.timeout, spec.grace) == (900, 2)


def test_a_follow_up_resumes_the_session_with_the_follow_up_alone(tmp_path: Path) -> None:
    spec = prepare(
        tmp_path, session_id="0b1c-session", follow_up="Also write bye.txt", run_number=2
    )
    assert spec.argv == [
        *BASE, *DEFAULT_PERMISSIONS, "--resume", "0b1c-session", "--", "Also write bye.txt"
    ]  # fmt: skip


def test_a_follow_up_without_a_session_starts_one_with_the_whole_task(tmp_path: Path) -> None:
    spec = prepare(tmp_path, follow_up="Also write bye.txt")
    assert "--resume" not in spec.argv
    assert spec.argv[-1] == (
        "Add a greeting\n\nWrite hello.txt saying hello.\n\n"
        "Requested changes to the work so far:\n\nAlso write bye.txt"
    )


def test_an_approved_plan_is_part_of_the_prompt(tmp_path: Path) -> None:
    spec = prepare(tmp_path, prompt="", plan="1. write it\n2. check it")
    assert spec.argv[-2:] == [
        "--",
        "Add a greeting\n\nFollow this approved plan:\n\n1. write it\n2. check it",
    ]


def test_a_prompt_that_looks_like_an_option_stays_the_prompt(tmp_path: Path) -> None:
    spec = prepare(tmp_path, title="--help", prompt="")
    assert spec.argv[-2:] == ["--", "--help"]


def test_a_prompt_too_long_for_argv_goes_on_stdin(tmp_path: Path) -> None:
    long = "x" * (ARGV_PROMPT_LIMIT + 1)
    spec = prepare(tmp_path, prompt=long)
    assert spec.argv == [*BASE, *DEFAULT_PERMISSIONS]
    assert spec.stdin == f"Add a greeting\n\n{long}".encode()


def test_the_key_is_passed_only_when_one_was_resolved(tmp_path: Path) -> None:
    given = {"PATH": "/bin", "ANTHROPIC_API_KEY": KEY}
    with_key = prepare(tmp_path, env=given).env
    without = prepare(tmp_path, env={"PATH": "/bin"}).env
    assert with_key["ANTHROPIC_API_KEY"] == KEY
    assert "ANTHROPIC_API_KEY" not in without
    assert given == {"PATH": "/bin", "ANTHROPIC_API_KEY": KEY}  # not changed in place
    assert KEY not in json.dumps(prepare(tmp_path, env=given).argv)


def test_a_base_url_is_passed_and_non_essential_traffic_is_off(tmp_path: Path) -> None:
    env = prepare(tmp_path, profile(base_url="http://127.0.0.1:8123/")).env
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8123"
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
    assert env["DISABLE_AUTOUPDATER"] == "1"
    assert env["DISABLE_TELEMETRY"] == "1"
    assert env["DISABLE_ERROR_REPORTING"] == "1"
    assert env["PATH"] == "/bin"
    assert "ANTHROPIC_BASE_URL" not in prepare(tmp_path).env


def test_the_registry_knows_claude_code_and_its_versions() -> None:
    adapter = adapter_for(AgentKind.CLAUDE_CODE)
    assert isinstance(adapter, ClaudeCodeAdapter)
    assert (adapter.label, adapter.binary, adapter.key_env) == (
        "Claude Code", "claude", "ANTHROPIC_API_KEY",
    )  # fmt: skip
    assert "npm install -g @anthropic-ai/claude-code" in adapter.install_hint
    version = adapter.parse_version("2.1.332 (Claude Code)")
    assert version == (2, 1, 332) and adapter.supports(version)
    assert not adapter.supports(adapter.parse_version("1.0.128 (Claude Code)"))
    assert not adapter.supports(None)


# -- the parser on recorded output ----------------------------------------------------------


def test_a_recorded_run_that_writes_a_file(tmp_path: Path) -> None:
    parser, events = parse("write_file")
    assert [type(e).__name__ for e in events] == [
        "StatusEvent", "StatusEvent",  # init, requesting
        "TextEvent", "TextEvent", "TextEvent", "ToolCallEvent", "ToolResultEvent",
        "StatusEvent", "TextEvent", "TextEvent", "TextEvent", "TextEvent",
        "UsageEvent", "StatusEvent",
    ]  # fmt: skip
    texts = [(e.text, e.delta) for e in events if isinstance(e, TextEvent)]
    assert texts == [
        ("I'll create ", True), ("the file.", True), ("I'll create the file.", False),
        ("Created ", True), ("hello.txt", True), (".", True), ("Created hello.txt.", False),
    ]  # fmt: skip
    [call] = [e for e in events if isinstance(e, ToolCallEvent)]
    assert (call.call_id, call.name, call.tool_kind) == ("toolu_write_1", "Write", ToolKind.EDIT)
    assert call.arguments == {"file_path": "hello.txt", "content": "hello\n"}
    [result] = [e for e in events if isinstance(e, ToolResultEvent)]
    assert (result.call_id, result.name, result.is_error) == ("toolu_write_1", "Write", False)
    assert result.output.startswith("File created successfully at: hello.txt")
    [usage] = [e for e in events if isinstance(e, UsageEvent)]
    # input 1200 + 1500, cache creation 300, cache reads 100 + 1400; output 40 + 12
    assert (usage.tokens_in, usage.tokens_out) == (4500, 52)
    assert usage.cost_usd == pytest.approx(0.01364)
    assert usage.context_fill == pytest.approx(2900 / 1_000_000)  # the last call, of 1M
    first, *_, last = [e for e in events if isinstance(e, StatusEvent)]
    assert first.message.startswith("Claude Code 2.1.332 started: model claude-opus-5-5")
    assert "permission mode acceptEdits" in first.message
    assert last.message.startswith("Claude Code finished: 2 turn(s), ")
    init = json.loads((RECORDINGS / "write_file.jsonl").read_text().splitlines()[0])
    assert parser.session_id == init["session_id"]
    assert (parser.failed, parser.reason) == (False, "")
    assert not [e for e in events if isinstance(e, RawEvent)]


def test_a_recorded_follow_up_keeps_the_session_and_runs_a_command() -> None:
    first, _ = parse("write_file")
    parser, events = parse("follow_up")
    assert parser.session_id == first.session_id
    [call] = [e for e in events if isinstance(e, ToolCallEvent)]
    assert (call.name, call.tool_kind) == ("Bash", ToolKind.COMMAND)
    assert call.arguments["command"] == "cat hello.txt && echo again >> hello.txt"
    [result] = [e for e in events if isinstance(e, ToolResultEvent)]
    assert (result.name, result.output, result.is_error) == ("Bash", "hello", False)
    [usage] = [e for e in events if isinstance(e, UsageEvent)]
    assert (usage.tokens_in, usage.tokens_out) == (3700, 40)


def test_a_recorded_permission_denial_is_an_error_once() -> None:
    parser, events = parse("permission_denied")
    errors = [e.message for e in events if isinstance(e, ErrorEvent)]
    assert errors == [
        "permission denied: Write /etc/seedbed-test (Path is outside allowed working directories)"
    ]
    [result] = [e for e in events if isinstance(e, ToolResultEvent)]
    assert result.is_error and "/etc/seedbed-test" in result.output
    assert not parser.failed  # the model carried on and finished
    assert not [e for e in events if isinstance(e, RawEvent)]


def test_a_recorded_retry_is_a_status() -> None:
    parser, events = parse("api_retry")
    retries = [e for e in events if isinstance(e, StatusEvent) and e.phase == "retrying"]
    assert [e.message for e in retries] == [
        "model call failed (529 overloaded); retry 1 of 10 in 0.6 s"
    ]
    assert not parser.failed
    assert [e.text for e in events if isinstance(e, TextEvent) and not e.delta] == [
        "Hello after a retry."
    ]


def test_a_recorded_api_error_fails_the_run() -> None:
    parser, events = parse("api_error")
    assert parser.failed
    assert parser.reason.startswith("Claude Code failed: Prompt is too long")
    [error] = [e for e in events if isinstance(e, ErrorEvent)]
    assert error.message.startswith("Prompt is too long")
    assert not [e for e in events if isinstance(e, TextEvent)]  # the CLI's text is no answer
    assert not [e for e in events if isinstance(e, UsageEvent)]  # nothing was used
    assert events[-1] == StatusEvent(phase="finished", message=events[-1].message)
    assert events[-1].message.startswith("Claude Code failed after 1 turn(s)")


# -- the parser on hand-made lines ----------------------------------------------------------


def test_unknown_and_invalid_lines_are_kept_raw() -> None:
    lines = [
        '{"type": "prompt_suggestion", "suggestion": "now add tests"}',
        '{"type": "assistant", "message": {"content": [{"type": "text", "tex',
        "Warning: something the CLI printed as text",
        "[1, 2, 3]",
        '{"type": "system", "subtype": "hook_started", "hook": "x"}',
        '{"type": "stream_event", "event": "not an object"}',
        '{"type": "user", "message": {"content": "a plain user message"}}',
        '{"type": "system", "subtype": "status", "status": "requesting"} and more',
        '{"subtype": "init", "session_id": "no type"}',
        json.dumps({"type": "assistant", "message": {"content": [
            {"type": "tool_use", "id": "t1", "name": "Bash", "input": {}},
            {"type": "server_tool_use", "id": "s1", "name": "web_search"},
        ]}}),
        json.dumps({"type": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "ok"},
            {"type": "text", "text": "[Request interrupted by user]"},
        ]}}),
    ]  # fmt: skip
    _parser, events = feed(*lines)
    assert events == [RawEvent(line=line) for line in lines]
    assert feed("", "   ")[1] == []


def test_surrounding_whitespace_does_not_hide_a_line() -> None:
    line = '  {"type": "system", "subtype": "status", "status": "compacting"}  '
    assert feed(line)[1] == [StatusEvent(phase="status", message="compacting")]


def test_streamed_pieces_that_add_nothing_yield_nothing() -> None:
    _parser, events = feed(
        {"type": "stream_event", "event": {"type": "message_start", "message": {}}},
        {"type": "stream_event", "event": {"type": "content_block_start", "index": 0}},
        {"type": "stream_event", "event": {"type": "content_block_delta", "index": 0,
                                           "delta": {"type": "input_json_delta",
                                                     "partial_json": "{\"a"}}},
        {"type": "stream_event", "event": {"type": "content_block_delta", "index": 0,
                                           "delta": {"type": "thinking_delta",
                                                     "thinking": "hmm"}}},
        {"type": "stream_event", "event": {"type": "message_stop"}},
    )  # fmt: skip
    assert events == []


@pytest.mark.parametrize(
    ("subtype", "result", "reason"),
    [
        ("error_max_turns", None, "Claude Code failed: error_max_turns"),
        ("error_during_execution", "", "Claude Code failed: error_during_execution"),
        ("success", "Invalid API key · Fix it", "Claude Code failed: Invalid API key · Fix it"),
    ],
)  # fmt: skip
def test_an_error_result_fails_the_run(subtype: str, result: str | None, reason: str) -> None:
    line = {
        "type": "result", "subtype": subtype, "is_error": True, "session_id": "s-1",
        "num_turns": 3, "duration_ms": 4200, "total_cost_usd": 0.5,
        "usage": {"input_tokens": 10, "output_tokens": 2}, "result": result,
    }  # fmt: skip
    parser, events = feed(line)
    assert (parser.failed, parser.reason, parser.session_id) == (True, reason, "s-1")
    assert events[0] == UsageEvent(tokens_in=10, tokens_out=2, cost_usd=0.5)
    assert events[-1] == StatusEvent(
        phase="finished", message="Claude Code failed after 3 turn(s), 4.2 s"
    )


def test_denials_only_in_the_result_are_errors_each() -> None:
    _parser, events = feed(
        {
            "type": "result", "subtype": "success", "is_error": False, "num_turns": 1,
            "permission_denials": [
                {"tool_name": "Bash", "tool_use_id": "t1", "tool_input": {"command": "rm -rf /"}},
                {"tool_name": "WebFetch", "tool_use_id": "t2",
                 "tool_input": {"url": "https://example.com"}},
            ],
        }
    )  # fmt: skip
    assert [e.message for e in events if isinstance(e, ErrorEvent)] == [
        "permission denied: Bash rm -rf /",
        "permission denied: WebFetch https://example.com",
    ]


def test_tool_results_are_bounded_and_named_after_their_call() -> None:
    big = "line\n" * 5000
    _parser, events = feed(
        {"type": "assistant", "parent_tool_use_id": None, "message": {"content": [
            {"type": "thinking", "thinking": "let me look"},
            {"type": "tool_use", "id": "t9", "name": "Grep", "input": {"pattern": "x" * 9000}},
            {"type": "tool_use", "id": "t10", "name": "mcp__db__query", "input": {"sql": "1"}},
        ]}},
        {"type": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "t9", "content": big},
            {"type": "tool_result", "tool_use_id": "t10", "is_error": True,
             "content": [{"type": "text", "text": "no database"}, {"type": "image"}]},
        ]}},
    )  # fmt: skip
    grep, query, found, failed = events
    assert isinstance(grep, ToolCallEvent) and grep.tool_kind is ToolKind.SEARCH
    assert len(str(grep.arguments["pattern"])) < LOG_LIMIT + 100
    assert isinstance(query, ToolCallEvent) and query.tool_kind is ToolKind.OTHER
    assert isinstance(found, ToolResultEvent) and found.name == "Grep"
    assert found.output.startswith("line\nline") and len(found.output) < LOG_LIMIT + 100
    assert found.output.endswith("more characters not logged]")
    assert failed == ToolResultEvent(
        call_id="t10", name="mcp__db__query", output="no database\n[image]", is_error=True
    )


@pytest.mark.parametrize(
    ("name", "kind"),
    [("Read", "read"), ("Glob", "read"), ("LS", "read"), ("Edit", "edit"), ("Write", "edit"),
     ("MultiEdit", "edit"), ("NotebookEdit", "edit"), ("Bash", "command"), ("Grep", "search"),
     ("WebSearch", "search"), ("Task", "other"), ("WebFetch", "other")],
)  # fmt: skip
def test_tool_kinds(name: str, kind: str) -> None:
    block = {"type": "tool_use", "id": "t", "name": name, "input": {}}
    _parser, [event] = feed({"type": "assistant", "message": {"content": [block]}})
    assert isinstance(event, ToolCallEvent) and event.tool_kind.value == kind


def test_the_parser_keeps_up_with_a_long_transcript() -> None:
    """A floor far below the benchmark's target, so that a slow machine still passes."""
    lines = (RECORDINGS / "write_file.jsonl").read_text().splitlines()[1:] * 300
    parser = ClaudeCodeParser()
    started = time.perf_counter()
    for line in lines:
        parser.feed(line)
    assert len(lines) / (time.perf_counter() - started) > 20_000


# -- the real CLI through the engine -----------------------------------------------------------


def claude_profile(seedbed: SeedbedCli, *extra: str, binary: str | Path | None = None) -> None:
    path = binary if binary is not None else cli_binary("claude")
    seedbed.ok("profile", "add", "cc", "--kind", "claude-code", "--binary", str(path), *extra)


def run_task(seedbed: SeedbedCli, title: str = "Write hello.txt") -> dict[str, Any]:
    added = seedbed.ok("task", "add", "--project", "demo", "--title", title,
                       "--prompt", "Create hello.txt saying hello.", "--start")  # fmt: skip
    seedbed.ok("run", "--until-idle")
    return seedbed.show(added.out.strip())


def test_claude_code_writes_a_file_then_resumes_its_session_for_a_follow_up(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, file_keyring: FileStore
) -> None:
    seedbed.ok("key", "set", "anthropic", input=KEY)
    claude_profile(seedbed, "--base-url", model_server.url, "--key-name", "anthropic")
    model_server.script(
        anthropic_answer(
            ["I'll create ", "the file."],
            tool_calls=[("toolu_1", "Write", {"file_path": "hello.txt", "content": "hello\n"})],
            usage=(1200, 40),
        ),
        anthropic_answer("Created hello.txt.", usage=(1500, 12)),
    )

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert shown["diff"] == {"files": 1, "insertions": 1, "deletions": 0}
    worktree = Path(shown["worktree"])
    assert (worktree / "hello.txt").read_text() == "hello\n"
    [run] = shown["runs"]
    assert (run["status"], run["exit_code"]) == ("succeeded", 0)
    assert (run["tokens_in"], run["tokens_out"]) == (2700, 52)
    assert run["cost_usd"] > 0
    events = seedbed.log_events(shown["id"])
    calls = [e for e in events if e["kind"] == "tool_call"]
    assert [(c["name"], c["tool_kind"], c["arguments"]) for c in calls] == [
        ("Write", "edit", {"file_path": "hello.txt", "content": "hello\n"})
    ]
    texts = [e["text"] for e in events if e["kind"] == "text" and not e["delta"]]
    assert texts == ["I'll create the file.", "Created hello.txt."]
    assert [e["text"] for e in events if e["kind"] == "text" and e["delta"]][:2] == [
        "I'll create ", "the file.",
    ]  # fmt: skip
    assert [e["tokens_in"] for e in events if e["kind"] == "usage"] == [2700]
    assert next(e for e in events if e["kind"] == "tool_result")["is_error"] is False
    first_posts = model_server.posts
    assert len(first_posts) == 2  # one call per turn: no title or summary call
    assert first_posts[0].path == "/v1/messages?beta=true"
    assert first_posts[0].headers["x-api-key"] == KEY
    assert "Write hello.txt\\n\\nCreate hello.txt saying hello." in first_posts[0].raw.decode()
    assert not [r for r in model_server.requests if r.method != "POST"]  # no probes
    store = Store.open(seedbed.data_dir)
    session = json.loads(store.list_runs(shown["id"])[0].conversation)["session_id"]
    store.close()
    assert first_posts[0].headers["x-claude-code-session-id"] == session

    model_server.script(
        anthropic_answer(
            tool_calls=[("toolu_2", "Bash", {"command": "echo bye > bye.txt"})],
            usage=(1700, 20),
        ),
        anthropic_answer("Added bye.txt.", usage=(1800, 8)),
    )
    seedbed.ok("task", "request-changes", str(shown["id"]), "--message", "Also write bye.txt")
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(shown["id"])

    assert (shown["phase"], [r["kind"] for r in shown["runs"]]) == ("ready", ["implement", "fix"])
    assert (worktree / "bye.txt").read_text() == "bye\n"
    assert shown["diff"]["files"] == 2
    resumed = model_server.posts[2]
    assert resumed.headers["x-claude-code-session-id"] == session  # --resume SESSION
    flat = json.dumps(resumed.body["messages"])
    assert "Create hello.txt saying hello." in flat and "Created hello.txt." in flat
    assert "Also write bye.txt" in json.dumps(resumed.body["messages"][-1])
    second = seedbed.log_events(shown["id"])
    assert [(e["name"], e["tool_kind"]) for e in second if e["kind"] == "tool_call"] == [
        ("Bash", "command")
    ]
    assert any(e["kind"] == "status" and session in e["message"] for e in second)
    everything = seedbed.ok("task", "log", str(shown["id"]), "--json", "--run", "1").out
    assert KEY not in everything + json.dumps(shown)


def test_a_missing_claude_says_how_to_install_it(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    claude_profile(seedbed, binary=tmp_path / "nowhere" / "claude")
    shown = run_task(seedbed)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert "Claude Code is not installed" in shown["error"]
    assert "npm install -g @anthropic-ai/claude-code" in shown["error"]


def test_an_old_claude_is_refused_with_a_clear_error(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    fake = tmp_path / "claude"
    fake.write_text("#!/bin/sh\necho '0.1.0 (Claude Code)'\n")
    fake.chmod(0o755)
    claude_profile(seedbed, binary=fake)
    shown = run_task(seedbed)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert "reports '0.1.0 (Claude Code)'" in shown["error"]
    assert "needs 2.0.0 or newer" in shown["error"]
    assert "npm install -g @anthropic-ai/claude-code" in shown["error"]


def test_a_server_that_never_answers_ends_the_run_at_the_idle_timeout(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    claude_profile(seedbed, "--base-url", model_server.url, "--idle-timeout", "2")
    model_server.script(hang(60))
    started = time.monotonic()
    shown = run_task(seedbed)
    assert time.monotonic() - started < 20
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["error"] == "Claude Code printed nothing for 2 s"
    assert shown["runs"][0]["status"] == "timed_out"
    assert model_server.posts[0].headers["x-api-key"] == KEY  # the variable is the fallback


def test_a_planner_or_reviewer_may_only_read(tmp_path: Path) -> None:
    prof = profile(permission_mode="bypassPermissions")  # the profile's own mode yields
    plan = prepare(tmp_path, prof, kind=RunKind.PLAN, follow_up="Plan this task.")
    assert plan.argv[len(BASE) : len(BASE) + 4] == [
        "--permission-mode", "default", "--allowedTools", "Read Grep Glob LS",
    ]  # fmt: skip
    assert plan.argv[-1] == "Plan this task."  # the planner's prompt alone, no resume
    review = prepare(tmp_path, prof, kind=RunKind.REVIEW, follow_up="Review this.")
    assert review.argv[len(BASE) + 3] == "Read Grep Glob LS Bash"


def test_claude_code_works_in_a_sandbox_with_the_model_network(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its edits and its shell run sandboxed: it reaches the model server through the
    proxy (nothing else), writes its worktree, and its Bash cannot write the home."""
    if not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-other-provider")
    seedbed.ok("key", "set", "anthropic", input=KEY)
    claude_profile(seedbed, "--base-url", model_server.url, "--key-name", "anthropic",
                   "--sandbox", "--network", "model")  # fmt: skip
    escaped = Path.home() / "escaped.txt"
    # A hook planted in its settings would run, unsandboxed, at the user's next start.
    settings = Path.home() / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"theme": "mine"}\n')
    (settings.parent / "user-only.txt").write_text("the user's\n")
    # What it sees as ~/.claude is Seedbed's copy for the task (#1).
    private = seedbed.data_dir / "sandbox" / "homes" / "task-1" / ".claude"
    private.mkdir(parents=True)
    (private / "marker.txt").write_text("seedbed's copy\n")
    look = f"cat {settings.parent}/marker.txt; cat {settings.parent}/user-only.txt"
    model_server.script(
        anthropic_answer(
            tool_calls=[("toolu_1", "Write", {"file_path": "hello.txt", "content": "hello\n"})],
            usage=(1200, 40),
        ),
        anthropic_answer(
            tool_calls=[("toolu_2", "Bash", {"command": f"echo out > {escaped}; env"})],
            usage=(1300, 20),
        ),
        anthropic_answer(
            tool_calls=[("toolu_3", "Bash", {"command": look})],
            usage=(1400, 20),
        ),
        anthropic_answer("Done.", usage=(1500, 12)),
    )

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert (Path(shown["worktree"]) / "hello.txt").read_text() == "hello\n"
    assert not escaped.exists()
    events = seedbed.log_events(shown["id"])
    assert any(
        e["kind"] == "status" and e["message"].startswith("sandbox: network model") for e in events
    )
    bash = [e for e in events if e["kind"] == "tool_result"][1]
    assert "Read-only file system" in bash["output"], bash
    assert "HTTPS_PROXY=http://127.0.0.1:3128" in bash["output"]  # its only way out
    assert "OPENAI_API_KEY" not in bash["output"]  # another provider's key stays out
    # Its ~/.claude is Seedbed's copy, the user's settings copied in (and nothing else of
    # theirs): a hook it wrote there would never run in the user's own Claude Code.
    looked = [e for e in events if e["kind"] == "tool_result"][2]["output"]
    assert "seedbed's copy" in looked and "the user's" not in looked, looked
    assert (private / "settings.json").read_text() == '{"theme": "mine"}\n'
    assert settings.read_text() == '{"theme": "mine"}\n'


def test_a_login_claude_code_renews_in_its_sandbox_is_carried_back_to_the_users(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, file_keyring: FileStore
) -> None:
    """Its OAuth tokens rotate: one it renewed in Seedbed's copy of ~/.claude reaches the
    user's own .credentials.json at the run's end; its settings, changed too, do not. The
    task discarded, its private home is gone."""
    if not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    seedbed.ok("key", "set", "anthropic", input=KEY)
    claude_profile(seedbed, "--base-url", model_server.url, "--key-name", "anthropic",
                   "--sandbox", "--network", "model")  # fmt: skip
    claude = Path.home() / ".claude"
    claude.mkdir()
    login = {"accessToken": "old", "refreshToken": "old", "expiresAt": 4102444800000}
    (claude / ".credentials.json").write_text(json.dumps({"claudeAiOauth": login}))
    (claude / "settings.json").write_text('{"theme": "mine"}\n')
    renewed = {"claudeAiOauth": {**login, "accessToken": "new", "refreshToken": "new"}}
    # As its own refresh would write them (its Bash refuses a command naming the file).
    renew = (
        f"cd {claude} && name=.cred && printf '%s' '{json.dumps(renewed)}' > $name'entials.json'"
        f""" && printf '%s' '{{"hooks": {{}}}}' > settings.json"""
    )
    model_server.script(
        anthropic_answer(tool_calls=[("toolu_1", "Bash", {"command": renew})], usage=(1200, 40)),
        anthropic_answer("Done.", usage=(1300, 12)),
    )

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert json.loads((claude / ".credentials.json").read_text()) == renewed
    assert (claude / "settings.json").read_text() == '{"theme": "mine"}\n'
    private = seedbed.data_dir / "sandbox" / "homes" / f"task-{shown['id']}"
    assert (private / ".claude" / "settings.json").read_text() == '{"hooks": {}}'
    messages = [e.get("message", "") for e in seedbed.log_events(shown["id"])]
    assert f"sandbox: the login it renewed was carried back to {claude}/.credentials.json" in (
        messages
    )
    seedbed.ok("task", "discard", str(shown["id"]))
    assert not private.exists()


def test_a_login_renewed_before_its_engine_was_killed_is_carried_back_by_recovery(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, file_keyring: FileStore
) -> None:
    if not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    seedbed.ok("key", "set", "anthropic", input=KEY)
    claude_profile(seedbed, "--base-url", model_server.url, "--key-name", "anthropic",
                   "--sandbox", "--network", "model")  # fmt: skip
    claude = Path.home() / ".claude"
    claude.mkdir()
    login = {"accessToken": "old", "refreshToken": "old", "expiresAt": 4102444800000}
    (claude / ".credentials.json").write_text(json.dumps({"claudeAiOauth": login}))
    renewed = {"claudeAiOauth": {**login, "accessToken": "new", "refreshToken": "new"}}
    renew = (
        f"cd {claude} && name=.cred && printf '%s' '{json.dumps(renewed)}' > $name'entials.json'"
    )
    model_server.script(
        anthropic_answer(tool_calls=[("toolu_1", "Bash", {"command": renew})], usage=(1200, 40)),
        hang(60),
    )
    seedbed.ok("task", "add", "--project", "demo", "--title", "T", "--start")
    private = seedbed.data_dir / "sandbox" / "homes" / "task-1" / ".claude" / ".credentials.json"
    # Its proxy's socket dir, which the kill leaves, under a temporary dir of the test's.
    with tempfile.TemporaryDirectory(prefix="sb-", dir="/tmp") as temporary:
        engine = seedbed.spawn("run", env={**os.environ, "TMPDIR": temporary})
        deadline = time.monotonic() + 60
        while '"new"' not in (private.read_text() if private.is_file() else ""):
            assert time.monotonic() < deadline and engine.poll() is None, "it never renewed it"
            time.sleep(0.1)
        os.kill(engine.pid, signal.SIGKILL)
        engine.communicate(timeout=10)
    assert json.loads((claude / ".credentials.json").read_text())["claudeAiOauth"] == login

    seedbed.ok("run", "--until-idle")  # its start-up recovery

    assert json.loads((claude / ".credentials.json").read_text()) == renewed
    assert seedbed.show(1)["phase"] == "interrupted"
    messages = [e.get("message", "") for e in seedbed.log_events(1)]
    assert f"sandbox: the login it renewed was carried back to {claude}/.credentials.json" in (
        messages
    )
