"""Gemini CLI: prepare, the stream-json parser on recorded output, and the real CLI (the
pinned 0.61.0) through the engine against a local server speaking the Gemini API."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from seedbed.agents.base import RunRequest
from seedbed.agents.cli.gemini import GeminiAdapter, GeminiParser
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
from tests.model_server import HttpError, ModelServer, RawStream, hang

RECORDINGS = Path(__file__).parent / "recordings" / "gemini"
KEY = "gemini-test-5e4d3c2b1a-NEVER-LOG-THIS"
# What a user of a Gemini API proxy sets in ~/.gemini/settings.json: the API-key auth
# (with GOOGLE_GEMINI_BASE_URL alone, 0.61.0 picks "gateway", which headless runs
# refuse), and no usage statistics sent to Google from the tests.
SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "privacy": {"usageStatisticsEnabled": False},
}

Call = tuple[str, dict[str, Any]]


def gemini_answer(
    text: Sequence[str] = (),
    calls: Sequence[Call] = (),
    usage: tuple[int, int] = (10, 5),
    cached: int = 0,
) -> RawStream:
    """A `streamGenerateContent?alt=sse` answer: one chunk per text piece, then the
    function calls with the finish reason and the usage."""

    def chunk(parts: list[dict[str, Any]], last: bool) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        body: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-2.5-flash"}
        if last:
            candidate["finishReason"] = "STOP"
            body["usageMetadata"] = {
                "promptTokenCount": usage[0],
                "candidatesTokenCount": usage[1],
                "totalTokenCount": sum(usage),
                "cachedContentTokenCount": cached,
            }
        return b"data: " + json.dumps(body).encode() + b"\r\n\r\n"

    pieces = [[{"text": piece}] for piece in text]
    last = [{"functionCall": {"name": name, "args": args}} for name, args in calls]
    if last or not pieces:
        pieces.append(last or [{"text": ""}])
    return RawStream([chunk(parts, n == len(pieces) - 1) for n, parts in enumerate(pieces)])


def gemini_error(status: int, message: str) -> HttpError:
    kind = "INVALID_ARGUMENT" if status == 400 else "INTERNAL"
    return HttpError(status, {"error": {"code": status, "message": message, "status": kind}})


def profile(**fields: Any) -> AgentProfile:
    return AgentProfile(name="gem", kind=AgentKind.GEMINI, **fields)


def request(tmp_path: Path, **fields: Any) -> RunRequest:
    values: dict[str, Any] = {
        "task_id": 7,
        "run_id": 9,
        "run_number": 1,
        "kind": RunKind.IMPLEMENT,
        "title": "Write hello.txt",
        "prompt": "Create hello.txt saying hello.",
        "worktree": tmp_path,
    }
    values.update(fields)
    return RunRequest(**values)


def feed_all(lines: Sequence[str]) -> tuple[GeminiParser, list[Event]]:
    parser = GeminiParser()
    events: list[Event] = []
    for line in lines:
        events.extend(parser.feed(line))
    return parser, events


def recording(name: str) -> tuple[GeminiParser, list[Event]]:
    return feed_all((RECORDINGS / name).read_text().splitlines())


# -- prepare -------------------------------------------------------------------------------


def test_the_adapter_is_registered() -> None:
    adapter = adapter_for(AgentKind.GEMINI)
    assert isinstance(adapter, GeminiAdapter)
    assert (adapter.label, adapter.binary, adapter.key_provider, adapter.key_env) == (
        "Gemini CLI", "gemini", "gemini", "GEMINI_API_KEY",
    )  # fmt: skip
    assert "npm install -g @google/gemini-cli" in adapter.install_hint
    assert adapter.supports((0, 61, 0)) and not adapter.supports((0, 40, 9))
    assert adapter.parse_version("0.61.0\n") == (0, 61, 0)


def test_prepare_runs_headless_with_stream_json_unattended(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin", "GEMINI_API_KEY": KEY}
    spec = GeminiAdapter().prepare(
        profile(model="gemini-2.5-pro", extra_args=["--debug"], timeout=60),
        request(tmp_path),
        "/opt/gemini",
        env,
        "",
    )
    assert spec.argv == [
        "/opt/gemini", "--output-format", "stream-json", "--prompt", "",
        "--approval-mode", "yolo", "--skip-trust", "--model", "gemini-2.5-pro", "--debug",
    ]  # fmt: skip
    assert spec.cwd == tmp_path
    assert spec.stdin == b"Write hello.txt\n\nCreate hello.txt saying hello."
    assert spec.env == env and spec.env is not env
    assert spec.timeout == 60


def test_prepare_without_a_model_lets_the_cli_choose(tmp_path: Path) -> None:
    spec = GeminiAdapter().prepare(profile(), request(tmp_path), "gemini", {}, "")
    assert "--model" not in spec.argv
    assert "GEMINI_API_KEY" not in spec.env  # no key resolved: none made up


def test_a_profile_permission_mode_replaces_yolo(tmp_path: Path) -> None:
    spec = GeminiAdapter().prepare(
        profile(permission_mode="auto_edit"), request(tmp_path), "gemini", {}, ""
    )
    assert spec.argv[spec.argv.index("--approval-mode") + 1] == "auto_edit"
    assert "yolo" not in spec.argv


def test_a_base_url_goes_in_as_google_gemini_base_url(tmp_path: Path) -> None:
    spec = GeminiAdapter().prepare(
        profile(base_url="http://127.0.0.1:8080/"), request(tmp_path), "gemini", {}, ""
    )
    assert spec.env["GOOGLE_GEMINI_BASE_URL"] == "http://127.0.0.1:8080"


def test_a_follow_up_resumes_the_session_with_the_follow_up_alone(tmp_path: Path) -> None:
    spec = GeminiAdapter().prepare(
        profile(extra_args=["--debug"]),
        request(tmp_path, follow_up="Also write bye.txt", run_number=2),
        "gemini",
        {},
        "0e8c9d3b-1111-2222-3333-444455556666",
    )
    assert spec.argv[-3:] == ["--resume", "0e8c9d3b-1111-2222-3333-444455556666", "--debug"]
    assert spec.stdin == b"Also write bye.txt"


def test_a_follow_up_without_a_session_sends_the_whole_task(tmp_path: Path) -> None:
    spec = GeminiAdapter().prepare(
        profile(),
        request(tmp_path, follow_up="Also write bye.txt", plan="1. write it"),
        "gemini",
        {},
        "",
    )
    assert "--resume" not in spec.argv
    assert spec.stdin is not None
    text = spec.stdin.decode()
    assert text.startswith("Write hello.txt\n\nCreate hello.txt saying hello.")
    assert "Follow this approved plan:\n\n1. write it" in text
    assert text.endswith("Requested changes to the work so far:\n\nAlso write bye.txt")


def test_any_prompt_goes_on_stdin_never_in_argv(tmp_path: Path) -> None:
    prompt = "--version is not an option here\n" + "x" * 300_000
    spec = GeminiAdapter().prepare(profile(), request(tmp_path, prompt=prompt), "gemini", {}, "")
    assert spec.stdin is not None and prompt.encode() in spec.stdin
    assert all(len(arg) < 100 for arg in spec.argv)


def test_in_a_sandbox_its_dot_gemini_is_its_own_writable_directory() -> None:
    adapter = GeminiAdapter()
    assert adapter.sandbox_dirs({"HOME": "/home/u"}) == [Path("/home/u/.gemini")]
    given = {"HOME": "/home/u", "GEMINI_CLI_HOME": "/srv/g"}  # it stands for the home
    assert adapter.sandbox_dirs(given) == [Path("/srv/g/.gemini")]
    assert (adapter.sandbox_dirs({}), adapter.sandbox_env({"HOME": "/home/u"})) == ([], {})


def test_every_flag_prepare_uses_is_in_the_real_clis_help(tmp_path: Path) -> None:
    binary = cli_binary("gemini")
    help_text = subprocess.run(
        [binary, "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    spec = GeminiAdapter().prepare(
        profile(model="m"), request(tmp_path, follow_up="again"), str(binary), {}, "sid"
    )
    flags = [arg for arg in spec.argv if arg.startswith("--")]
    assert flags == [
        "--output-format", "--prompt", "--approval-mode", "--skip-trust", "--model", "--resume",
    ]  # fmt: skip
    for flag in flags:
        assert f"{flag} " in help_text, flag
    assert '"stream-json"' in help_text and '"yolo"' in help_text


# -- the parser on recorded output ---------------------------------------------------------


def test_a_recorded_run_that_writes_a_file() -> None:
    parser, events = recording("write_file.jsonl")
    assert not [e for e in events if isinstance(e, RawEvent)]
    assert parser.session_id and not parser.failed
    [status] = [e for e in events if isinstance(e, StatusEvent)]
    assert parser.session_id in status.message and "gemini-2.5-flash" in status.message
    deltas = [e.text for e in events if isinstance(e, TextEvent) and e.delta]
    assert deltas == ["I will write ", "the file.", "Done: hello.txt ", "says hello."]
    texts = [e.text for e in events if isinstance(e, TextEvent) and not e.delta]
    assert texts == ["I will write the file.", "Done: hello.txt says hello."]
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.name, c.tool_kind) for c in calls] == [
        ("write_file", ToolKind.EDIT),
        ("run_shell_command", ToolKind.COMMAND),
    ]
    assert calls[0].arguments == {"file_path": "hello.txt", "content": "hello\n"}
    results = [e for e in events if isinstance(e, ToolResultEvent)]
    assert [(r.call_id, r.name, r.is_error) for r in results] == [
        (calls[0].call_id, "write_file", False),
        (calls[1].call_id, "run_shell_command", False),
    ]
    assert results[1].output == "hello"
    assert all(r.duration_ms is not None and r.duration_ms >= 0 for r in results)
    assert [(u.tokens_in, u.tokens_out) for u in events if isinstance(u, UsageEvent)] == [
        (4400, 75)
    ]
    # The whole text comes before the tool call that ended it.
    kinds = [type(e).__name__ for e in events if not (isinstance(e, TextEvent) and e.delta)]
    assert kinds[:3] == ["StatusEvent", "TextEvent", "ToolCallEvent"]


def test_a_recorded_follow_up_keeps_the_session() -> None:
    first, _ = recording("write_file.jsonl")
    parser, events = recording("follow_up.jsonl")
    assert parser.session_id == first.session_id
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.name, c.tool_kind) for c in calls] == [("replace", ToolKind.EDIT)]
    assert [e.text for e in events if isinstance(e, TextEvent) and not e.delta] == [
        "It says bye now."
    ]
    [usage] = [e for e in events if isinstance(e, UsageEvent)]
    assert (usage.tokens_in, usage.tokens_out) == (3900, 38)  # cached tokens included


def test_recorded_tool_errors() -> None:
    parser, events = recording("tool_errors.jsonl")
    assert not parser.failed
    calls = {e.call_id: e for e in events if isinstance(e, ToolCallEvent)}
    assert [(c.name, c.tool_kind) for c in calls.values()] == [
        ("read_file", ToolKind.READ),
        ("run_shell_command", ToolKind.COMMAND),
        ("glob", ToolKind.READ),
        ("write_todos", ToolKind.OTHER),
    ]
    results = {e.name: e for e in events if isinstance(e, ToolResultEvent)}
    assert results["read_file"].is_error
    assert results["read_file"].output == "File not found: /tmp/recording/repo/missing.txt"
    assert "exited with code: 3" in results["run_shell_command"].output
    assert not results["glob"].is_error and not results["write_todos"].is_error


def test_a_recorded_api_error_fails_the_run_with_its_message() -> None:
    parser, events = recording("api_error.jsonl")
    assert parser.failed
    message = (
        "Gemini API error: API key not valid. Please pass a valid API key. (400 INVALID_ARGUMENT)"
    )
    assert parser.reason == message
    assert [e.message for e in events if isinstance(e, ErrorEvent)] == [message]


def test_a_recorded_empty_response_is_an_error_even_with_exit_code_0() -> None:
    parser, events = recording("empty_response.jsonl")
    [error] = [e for e in events if isinstance(e, ErrorEvent)]
    assert "empty response" in error.message
    assert parser.failed and parser.reason == error.message


# -- the parser on hand-made lines ---------------------------------------------------------


def test_lines_it_does_not_know_are_kept_raw() -> None:
    lines = [
        "not json",
        '{"type": "init", "session_id": "s", "mod',
        "[1, 2]",
        '{"type": "telemetry", "x": 1}',
        '{"no": "type"}',
        '{"type": ["message"]}',  # not a string: was a TypeError (unhashable)
        '{"type": "tool_use", "tool_name": "read_file"}',  # no tool_id
    ]
    parser, events = feed_all(lines)
    assert events == [RawEvent(line=line) for line in lines]
    assert not parser.failed and not parser.session_id


def test_blank_lines_are_nothing() -> None:
    assert feed_all(["", "   "])[1] == []


def test_a_warning_is_logged_but_does_not_fail_the_run() -> None:
    parser, events = feed_all(
        [
            json.dumps({"type": "error", "severity": "warning", "message": "Loop detected"}),
            json.dumps({"type": "result", "status": "success", "stats": {}}),
        ]
    )
    assert events == [ErrorEvent(message="Gemini CLI warning: Loop detected")]
    assert not parser.failed


def test_an_error_result_names_its_error() -> None:
    error = {"type": "FatalTurnLimitedError", "message": "Reached max session turns"}
    parser, events = feed_all(
        [
            json.dumps({"type": "message", "role": "assistant", "content": "Work", "delta": True}),
            json.dumps({"type": "result", "status": "error", "error": error}),
        ]
    )
    assert events == [
        TextEvent(text="Work", delta=True),
        TextEvent(text="Work"),
        ErrorEvent(message="Reached max session turns"),
    ]
    assert parser.failed and parser.reason == "Reached max session turns"


def test_a_whole_message_and_a_result_for_an_unknown_call() -> None:
    _parser, events = feed_all(
        [
            json.dumps({"type": "message", "role": "assistant", "content": "All at once"}),
            json.dumps({"type": "tool_result", "tool_id": "x", "status": "success", "output": "o"}),
        ]
    )
    assert events == [
        TextEvent(text="All at once"),
        ToolResultEvent(call_id="x", name="", output="o"),
    ]


def test_long_tool_output_and_arguments_are_cut_for_the_log() -> None:
    big = "y" * (LOG_LIMIT * 3)
    _parser, events = feed_all(
        [
            json.dumps({"type": "tool_use", "tool_name": "write_file", "tool_id": "w",
                        "parameters": {"file_path": "a", "content": big}}),
            json.dumps({"type": "tool_result", "tool_id": "w", "status": "success",
                        "output": big}),
        ]
    )  # fmt: skip
    call, result = events
    assert isinstance(call, ToolCallEvent) and isinstance(result, ToolResultEvent)
    assert len(str(call.arguments["content"])) < LOG_LIMIT + 100
    assert result.output.endswith("more characters not logged]")


@pytest.mark.parametrize(
    ("name", "kind"),
    [("read_file", "read"), ("read_many_files", "read"), ("list_directory", "read"),
     ("glob", "read"), ("write_file", "edit"), ("replace", "edit"),
     ("run_shell_command", "command"), ("grep_search", "search"),
     ("google_web_search", "search"), ("web_fetch", "other"), ("save_memory", "other")],
)  # fmt: skip
def test_tool_kinds(name: str, kind: str) -> None:
    line = json.dumps({"type": "tool_use", "tool_name": name, "tool_id": "t", "parameters": {}})
    [event] = feed_all([line])[1]
    assert isinstance(event, ToolCallEvent) and event.tool_kind.value == kind


# -- the real CLI through the engine -------------------------------------------------------


def gemini_profile(seedbed: SeedbedCli, *extra: str) -> None:
    binary = str(cli_binary("gemini"))
    seedbed.ok("profile", "add", "gem", "--kind", "gemini", "--binary", binary,
               "--model", "gemini-2.5-flash", *extra)  # fmt: skip


def user_settings(home: Path) -> None:
    (home / ".gemini").mkdir(exist_ok=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(SETTINGS))


def run_task(seedbed: SeedbedCli) -> dict[str, Any]:
    added = seedbed.ok("task", "add", "--project", "demo", "--title", "Write hello.txt",
                       "--prompt", "Create hello.txt saying hello.", "--start")  # fmt: skip
    seedbed.ok("run", "--until-idle")
    return seedbed.show(added.out.strip())


def test_gemini_writes_a_file_then_resumes_its_session_for_a_follow_up(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    isolated_home: Path,
) -> None:
    user_settings(isolated_home)
    seedbed.ok("key", "set", "gemini", input=KEY)
    gemini_profile(seedbed, "--base-url", model_server.url, "--key-name", "gemini")
    write = {"file_path": "hello.txt", "content": "hello\n"}
    model_server.script(
        gemini_answer(["I'll create ", "the file."], [("write_file", write)], (1200, 40)),
        gemini_answer(["Created hello.txt."], usage=(1500, 12)),
    )

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert shown["diff"] == {"files": 1, "insertions": 1, "deletions": 0}
    worktree = Path(shown["worktree"])
    assert (worktree / "hello.txt").read_text() == "hello\n"
    [run] = shown["runs"]
    assert (run["status"], run["exit_code"]) == ("succeeded", 0)
    assert (run["tokens_in"], run["tokens_out"]) == (2700, 52)
    events = seedbed.log_events(shown["id"])
    calls = [e for e in events if e["kind"] == "tool_call"]
    assert [(c["name"], c["tool_kind"], c["arguments"]) for c in calls] == [
        ("write_file", "edit", write)
    ]
    assert [e["is_error"] for e in events if e["kind"] == "tool_result"] == [False]
    texts = [e["text"] for e in events if e["kind"] == "text" and not e["delta"]]
    assert texts == ["I'll create the file.", "Created hello.txt."]
    assert [e["tokens_in"] for e in events if e["kind"] == "usage"] == [2700]
    posts = model_server.posts
    assert [p.path for p in posts] == [
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    ] * 2  # one call per turn, nothing else
    assert posts[0].headers["x-goog-api-key"] == KEY
    assert "Write hello.txt\n\nCreate hello.txt saying hello." in json.dumps(
        posts[0].body["contents"][-1], ensure_ascii=False
    ).replace("\\n", "\n")
    store = Store.open(seedbed.data_dir)
    session = json.loads(store.list_runs(shown["id"])[0].conversation)["session_id"]
    store.close()
    assert any(e["kind"] == "status" and session in e["message"] for e in events)

    model_server.script(
        gemini_answer(
            calls=[("run_shell_command", {"command": "echo bye > bye.txt"})], usage=(1700, 20)
        ),
        gemini_answer(["Added bye.txt."], usage=(1800, 8)),
    )
    seedbed.ok("task", "request-changes", str(shown["id"]), "--message", "Also write bye.txt")
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(shown["id"])

    assert (shown["phase"], [r["kind"] for r in shown["runs"]]) == ("ready", ["implement", "fix"])
    assert (worktree / "bye.txt").read_text() == "bye\n"
    assert shown["diff"]["files"] == 2
    resumed = json.dumps(model_server.posts[2].body["contents"])
    assert "Create hello.txt saying hello." in resumed and "Created hello.txt." in resumed
    assert "Also write bye.txt" in json.dumps(model_server.posts[2].body["contents"][-1])
    second = seedbed.log_events(shown["id"])
    assert [(e["name"], e["tool_kind"]) for e in second if e["kind"] == "tool_call"] == [
        ("run_shell_command", "command")
    ]
    assert any(e["kind"] == "status" and session in e["message"] for e in second)
    everything = seedbed.ok("task", "log", str(shown["id"]), "--json", "--run", "1").out
    assert KEY not in everything + json.dumps(shown)


def test_a_gemini_server_that_never_answers_ends_the_run_at_the_idle_timeout(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user_settings(isolated_home)
    monkeypatch.setenv("GEMINI_API_KEY", KEY)  # the CLI's own variable, inherited
    # Not 2 s: Node takes about 1.9 s to load the CLI before it prints its first line (more
    # on a busy machine), which a 2 s idle timeout cannot tell from a hung server.
    gemini_profile(seedbed, "--base-url", model_server.url, "--idle-timeout", "5")
    model_server.script(hang(60))
    started = time.monotonic()
    shown = run_task(seedbed)
    assert time.monotonic() - started < 40
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["error"] == "Gemini CLI printed nothing for 5 s"
    assert shown["runs"][0]["status"] == "timed_out"
    assert len(model_server.posts) == 1  # it was waiting for the server


def test_a_gemini_api_error_fails_the_task_with_the_apis_message(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user_settings(isolated_home)
    monkeypatch.setenv("GEMINI_API_KEY", "not-a-real-key")
    gemini_profile(seedbed, "--base-url", model_server.url)
    model_server.script(gemini_error(400, "API key not valid. Please pass a valid API key."))
    shown = run_task(seedbed)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["error"] == (
        "Gemini API error: API key not valid. Please pass a valid API key. (400 INVALID_ARGUMENT)"
    )
    assert shown["runs"][0]["status"] == "failed"


def test_a_missing_gemini_says_how_to_install_it(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    seedbed.ok("profile", "add", "gem", "--kind", "gemini",
               "--binary", str(tmp_path / "nowhere" / "gemini"))  # fmt: skip
    shown = run_task(seedbed)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert "Gemini CLI is not installed" in shown["error"]
    assert "npm install -g @google/gemini-cli" in shown["error"]


def test_gemini_works_in_a_sandbox_with_the_model_network(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    isolated_home: Path,
) -> None:
    """Its edits and its shell run in Seedbed's sandbox: it reaches the model server
    through the proxy, writes its worktree, and a shell command cannot write the home."""
    if not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    user_settings(isolated_home)
    seedbed.ok("key", "set", "gemini", input=KEY)
    gemini_profile(seedbed, "--base-url", model_server.url, "--key-name", "gemini",
                   "--sandbox", "--network", "model")  # fmt: skip
    escaped = isolated_home / "escaped.txt"
    shell = {"command": f"echo out > {escaped}; echo tried"}
    model_server.script(
        gemini_answer(calls=[("write_file", {"file_path": "hello.txt", "content": "hello\n"})]),
        gemini_answer(calls=[("run_shell_command", shell)]),
        gemini_answer(["Done."]),
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


def test_a_sandboxed_gemini_resumes_its_session_for_a_follow_up(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    monkeypatch: pytest.MonkeyPatch,
    isolated_home: Path,
) -> None:
    """Its sessions are kept in ~/.gemini, which the sandbox lets it write."""
    if not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    user_settings(isolated_home)
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    gemini_profile(seedbed, "--base-url", model_server.url, "--sandbox", "--network", "model")
    model_server.script(gemini_answer(["Hello there."]))
    shown = run_task(seedbed)
    assert shown["phase"] == "ready", shown["error"]

    model_server.script(gemini_answer(["Still here."]))
    seedbed.ok("task", "request-changes", str(shown["id"]), "--message", "Say it again")
    seedbed.ok("run", "--until-idle")

    shown = seedbed.show(shown["id"])
    assert [r["status"] for r in shown["runs"]] == ["succeeded", "succeeded"], shown["error"]
    resumed = json.dumps(model_server.posts[1].body["contents"])
    assert "Create hello.txt saying hello." in resumed and "Hello there." in resumed
