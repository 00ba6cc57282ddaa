"""OpenCode: prepare, the `run --format json` parser on recorded output, and the real CLI
(the pinned 1.18.33) through the engine against tests/model_server.py."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from seedbed.agents.base import RunRequest
from seedbed.agents.cli.opencode import OpenCodeAdapter, OpenCodeParser
from seedbed.agents.cli.registry import adapter_for
from seedbed.agents.text import LOG_LIMIT
from seedbed.domain.errors import UserError
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
from tests.model_server import ModelServer, answer, hang, http_error

RECORDINGS = Path(__file__).parent / "recordings" / "opencode"
KEY = "sk-local-7a6b5c4d3e-NEVER-LOG-THIS"
PRICED = {"provider": {"local": {"models": {"test-model": {"cost": {"input": 3, "output": 15}}}}}}


def profile(**fields: Any) -> AgentProfile:
    return AgentProfile(name="oc", kind=AgentKind.OPENCODE, **fields)


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


def prepare(tmp_path: Path, env: dict[str, str] | None = None, session: str = "", **fields: Any):
    req_fields = {k: fields.pop(k) for k in ("follow_up", "plan", "prompt") if k in fields}
    return OpenCodeAdapter().prepare(
        profile(**fields), request(tmp_path, **req_fields), "opencode", env or {}, session
    )


def feed_all(lines: Sequence[str]) -> tuple[OpenCodeParser, list[Event]]:
    parser = OpenCodeParser()
    events: list[Event] = []
    for line in lines:
        events.extend(parser.feed(line))
    return parser, events


def recording(name: str) -> tuple[OpenCodeParser, list[Event]]:
    return feed_all((RECORDINGS / name).read_text().splitlines())


# -- prepare -------------------------------------------------------------------------------


def test_the_adapter_is_registered() -> None:
    adapter = adapter_for(AgentKind.OPENCODE)
    assert isinstance(adapter, OpenCodeAdapter)
    assert (adapter.label, adapter.binary) == ("OpenCode", "opencode")
    assert "npm install -g opencode-ai" in adapter.install_hint
    assert adapter.supports((1, 18, 33)) and not adapter.supports((1, 17, 9))
    assert adapter.parse_version("1.18.33\n") == (1, 18, 33)


def test_prepare_runs_opencode_run_with_json_events_unattended(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin", "PWD": "/somewhere/else", "ANTHROPIC_API_KEY": KEY}
    spec = prepare(
        tmp_path, env, model="anthropic/claude-sonnet-4-5", extra_args=["--variant", "high"]
    )
    assert spec.argv == [
        "opencode", "run", "--format", "json", "--model", "anthropic/claude-sonnet-4-5",
        "--auto", "--title", "Write hello.txt", "--variant", "high",
    ]  # fmt: skip
    assert spec.cwd == tmp_path
    assert spec.stdin == b"Write hello.txt\n\nCreate hello.txt saying hello."
    assert spec.env["PWD"] == str(tmp_path)  # OpenCode works in $PWD, not just the cwd
    assert spec.env["ANTHROPIC_API_KEY"] == KEY
    assert spec.env["OPENCODE_DISABLE_AUTOUPDATE"] == "1"
    assert spec.env["OPENCODE_DISABLE_LSP_DOWNLOAD"] == "1"
    assert "OPENCODE_CONFIG_CONTENT" not in spec.env  # nothing to say without a base URL
    assert env["PWD"] == "/somewhere/else"  # the caller's dict is not changed


def test_prepare_without_a_model_lets_opencode_choose(tmp_path: Path) -> None:
    spec = prepare(tmp_path)
    assert "--model" not in spec.argv and "--auto" in spec.argv


def test_permission_mode_config_leaves_the_users_permissions_alone(tmp_path: Path) -> None:
    assert "--auto" not in prepare(tmp_path, permission_mode="config").argv
    assert "--auto" in prepare(tmp_path, permission_mode="auto").argv
    with pytest.raises(UserError, match=r"auto .* and config .*not 'yolo'"):
        prepare(tmp_path, permission_mode="yolo")


def test_a_model_must_name_its_provider(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="provider/model"):
        prepare(tmp_path, model="gpt-5")


def test_a_follow_up_continues_the_session_with_the_follow_up_alone(tmp_path: Path) -> None:
    spec = prepare(tmp_path, session="ses_abc", follow_up="Also write bye.txt")
    assert spec.argv[-2:] == ["--session", "ses_abc"]
    assert "--title" not in spec.argv
    assert spec.stdin == b"Also write bye.txt"


def test_a_follow_up_without_a_session_sends_the_whole_task(tmp_path: Path) -> None:
    spec = prepare(tmp_path, follow_up="Also write bye.txt", plan="1. write it")
    assert "--session" not in spec.argv
    assert spec.stdin is not None
    text = spec.stdin.decode()
    assert text.startswith("Write hello.txt\n\nCreate hello.txt saying hello.")
    assert "Follow this approved plan:\n\n1. write it" in text
    assert text.endswith("Requested changes to the work so far:\n\nAlso write bye.txt")


def test_any_prompt_goes_on_stdin_as_it_is(tmp_path: Path) -> None:
    prompt = '--help "quoted" words\n' + "x" * 300_000
    spec = prepare(tmp_path, prompt=prompt)
    assert spec.stdin is not None and prompt.encode() in spec.stdin
    assert all(len(arg) < 100 for arg in spec.argv)


def test_a_base_url_declares_an_openai_compatible_provider(tmp_path: Path) -> None:
    spec = prepare(
        tmp_path,
        {"LOCAL_API_KEY": KEY},
        model="local/qwen3-coder",
        base_url="http://127.0.0.1:1234/v1/",
    )
    config = json.loads(spec.env["OPENCODE_CONFIG_CONTENT"])
    assert config == {
        "provider": {
            "local": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "local",
                "options": {"baseURL": "http://127.0.0.1:1234/v1", "apiKey": "{env:LOCAL_API_KEY}"},
                "models": {"qwen3-coder": {"name": "qwen3-coder"}},
            }
        }
    }
    assert KEY not in spec.env["OPENCODE_CONFIG_CONTENT"]  # the key stays in its variable
    assert spec.env["OPENCODE_DISABLE_MODELS_FETCH"] == "1"


def test_a_base_url_for_anthropic_keeps_the_messages_api(tmp_path: Path) -> None:
    spec = prepare(tmp_path, model="anthropic/claude-x", base_url="https://proxy.example")
    [entry] = json.loads(spec.env["OPENCODE_CONFIG_CONTENT"])["provider"].values()
    assert entry == {
        "options": {"baseURL": "https://proxy.example/v1"},
        "models": {"claude-x": {"name": "claude-x"}},
    }


def test_a_base_url_without_a_key_sends_none(tmp_path: Path) -> None:
    spec = prepare(tmp_path, model="ollama/llama3", base_url="http://localhost:11434/v1")
    config = json.loads(spec.env["OPENCODE_CONFIG_CONTENT"])
    assert "apiKey" not in config["provider"]["ollama"]["options"]


def test_the_users_inline_config_is_extended_not_replaced(tmp_path: Path) -> None:
    mine = {"permission": {"bash": {"rm *": "deny"}}, **PRICED}
    spec = prepare(
        tmp_path,
        {"OPENCODE_CONFIG_CONTENT": json.dumps(mine)},
        model="local/test-model",
        base_url="http://127.0.0.1:9/v1",
    )
    config = json.loads(spec.env["OPENCODE_CONFIG_CONTENT"])
    assert config["permission"] == {"bash": {"rm *": "deny"}}
    model = config["provider"]["local"]["models"]["test-model"]
    assert model == {"name": "test-model", "cost": {"input": 3, "output": 15}}
    assert config["provider"]["local"]["options"]["baseURL"] == "http://127.0.0.1:9/v1"
    broken = prepare(
        tmp_path,
        {"OPENCODE_CONFIG_CONTENT": "{not json"},
        model="local/m",
        base_url="http://127.0.0.1:9/v1",
    )
    assert list(json.loads(broken.env["OPENCODE_CONFIG_CONTENT"])) == ["provider"]
    untouched = prepare(tmp_path, {"OPENCODE_CONFIG_CONTENT": json.dumps(mine)})
    assert json.loads(untouched.env["OPENCODE_CONFIG_CONTENT"]) == mine


def test_a_base_url_needs_a_model(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="needs --model"):
        prepare(tmp_path, base_url="http://127.0.0.1:9/v1")


@pytest.mark.parametrize(
    ("model", "source"),
    [("anthropic/claude-sonnet-4-5", ("anthropic", "ANTHROPIC_API_KEY")),
     ("openai/gpt-5", ("openai", "OPENAI_API_KEY")),
     ("google/gemini-2.5-pro", ("gemini", "GEMINI_API_KEY")),
     ("openrouter/qwen/qwen3-coder", ("openrouter", "OPENROUTER_API_KEY")),
     ("my-lab/m", ("my-lab", "MY_LAB_API_KEY")),
     ("", ("anthropic", "ANTHROPIC_API_KEY"))],
)  # fmt: skip
def test_the_key_follows_the_models_provider(model: str, source: tuple[str, str]) -> None:
    assert OpenCodeAdapter().key_source(profile(model=model)) == source


def test_every_flag_prepare_uses_is_in_the_real_clis_help(tmp_path: Path) -> None:
    binary = cli_binary("opencode")
    shown = subprocess.run(
        [binary, "run", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    help_text = shown.stdout + shown.stderr  # yargs prints it on stderr
    first = OpenCodeAdapter().prepare(profile(model="a/b"), request(tmp_path), str(binary), {}, "")
    again = OpenCodeAdapter().prepare(
        profile(model="a/b"), request(tmp_path, follow_up="more"), str(binary), {}, "ses_x"
    )
    flags = [arg for arg in first.argv + again.argv if arg.startswith("--")]
    assert sorted(set(flags)) == ["--auto", "--format", "--model", "--session", "--title"]
    for flag in flags:
        assert f"{flag} " in help_text, flag
    assert '"json"' in help_text


# -- the parser on recorded output ---------------------------------------------------------


def test_a_recorded_run_that_writes_a_file() -> None:
    parser, events = recording("write_file.jsonl")
    assert not [e for e in events if isinstance(e, RawEvent)]
    assert parser.session_id.startswith("ses_") and not parser.failed
    assert [e.text for e in events if isinstance(e, TextEvent)] == [
        "I will write the file.",
        "Done: hello.txt says hello.",
    ]
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.call_id, c.name, c.tool_kind) for c in calls] == [
        ("call_1", "write", ToolKind.EDIT),
        ("call_2", "bash", ToolKind.COMMAND),
    ]
    assert calls[0].arguments == {"filePath": "hello.txt", "content": "hello\n"}
    results = [e for e in events if isinstance(e, ToolResultEvent)]
    assert [(r.call_id, r.name, r.output, r.is_error) for r in results] == [
        ("call_1", "write", "Wrote file successfully.", False),
        ("call_2", "bash", "hello\n", False),
    ]
    assert all(r.duration_ms is not None and r.duration_ms >= 0 for r in results)
    usage = [e for e in events if isinstance(e, UsageEvent)]
    assert [(u.tokens_in, u.tokens_out) for u in usage] == [(1200, 40), (1500, 20), (1700, 15)]
    assert sum(u.cost_usd for u in usage) == pytest.approx((4400 * 3 + 75 * 15) / 1e6)
    # Each call comes with its result, in the order OpenCode finished them.
    kinds = [type(e).__name__ for e in events]
    assert kinds[:4] == ["TextEvent", "ToolCallEvent", "ToolResultEvent", "UsageEvent"]


def test_a_recorded_follow_up_keeps_the_session() -> None:
    first, _ = recording("write_file.jsonl")
    parser, events = recording("follow_up.jsonl")
    assert parser.session_id == first.session_id
    calls = [e for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.name, c.tool_kind) for c in calls] == [("edit", ToolKind.EDIT)]
    assert [e.text for e in events if isinstance(e, TextEvent)] == ["It says bye now."]


def test_recorded_tool_errors() -> None:
    parser, events = recording("tool_errors.jsonl")
    assert not parser.failed
    assert [(e.name, e.tool_kind) for e in events if isinstance(e, ToolCallEvent)] == [
        ("read", ToolKind.READ),
        ("bash", ToolKind.COMMAND),
        ("todowrite", ToolKind.OTHER),
    ]
    results = {e.name: e for e in events if isinstance(e, ToolResultEvent)}
    assert results["read"].is_error
    assert results["read"].output == "File not found: /tmp/recording/repo/missing.txt"
    assert not results["bash"].is_error  # a command that fails is still a result
    assert not [e for e in events if isinstance(e, ErrorEvent)]


def test_a_recorded_permission_denial() -> None:
    parser, events = recording("permission_denied.jsonl")
    assert not parser.failed  # OpenCode ends the turn; the run itself succeeded
    [result] = [e for e in events if isinstance(e, ToolResultEvent)]
    assert result.is_error and "rejected permission" in result.output
    [error] = [e for e in events if isinstance(e, ErrorEvent)]
    assert error.message == "OpenCode was denied permission for bash: rm -rf build"


def test_a_recorded_deny_rule_holds_even_with_auto() -> None:
    parser, events = recording("permission_rule.jsonl")
    assert not parser.failed
    [result] = [e for e in events if isinstance(e, ToolResultEvent)]
    assert result.is_error and "rule which prevents you" in result.output
    [error] = [e for e in events if isinstance(e, ErrorEvent)]
    assert error.message == "OpenCode was denied permission for bash: rm -rf build"
    assert [e.text for e in events if isinstance(e, TextEvent)] == ["I may not delete it."]


def test_a_recorded_api_error_fails_the_run_with_its_message() -> None:
    parser, events = recording("api_error.jsonl")
    assert events == [ErrorEvent(message="Incorrect API key provided (HTTP 401)")]
    assert parser.failed and parser.reason == "Incorrect API key provided (HTTP 401)"
    assert parser.session_id.startswith("ses_")


# -- the parser on hand-made lines ---------------------------------------------------------


def test_lines_it_does_not_know_are_kept_raw() -> None:
    lines = [
        "not json",
        '{"type": "text", "sessionID": "ses_1", "part": {"te',
        '"a string"',
        '{"type": "share", "sessionID": "ses_2"}',
        '{"type": {"text": 1}}',  # not a string: was a TypeError (unhashable)
        '{"type": "tool_use", "sessionID": "ses_3", "part": {"tool": "bash"}}',  # no state
    ]
    parser, events = feed_all(lines)
    assert events == [RawEvent(line=line) for line in lines]
    assert not parser.failed


def test_blank_lines_are_nothing() -> None:
    assert feed_all(["", " "])[1] == []


def test_reasoning_is_a_status_and_an_unnamed_error_still_fails() -> None:
    parser, events = feed_all(
        [
            json.dumps({"type": "reasoning", "sessionID": "s", "part": {"text": "Hmm."}}),
            json.dumps({"type": "error", "sessionID": "s", "error": {"name": "ProviderAuthError"}}),
        ]
    )
    assert events == [
        StatusEvent(phase="reasoning", message="Hmm."),
        ErrorEvent(message="OpenCode: ProviderAuthError"),
    ]
    assert parser.failed and parser.reason == "OpenCode: ProviderAuthError"
    assert parser.session_id == "s"


def test_cached_and_reasoning_tokens_are_counted() -> None:
    tokens = {"input": 100, "output": 20, "reasoning": 30, "cache": {"read": 900, "write": 50}}
    line = json.dumps(
        {"type": "step_finish", "sessionID": "s", "part": {"tokens": tokens, "cost": 0.01}}
    )
    assert feed_all([line])[1] == [UsageEvent(tokens_in=1050, tokens_out=50, cost_usd=0.01)]


def test_long_tool_output_and_arguments_are_cut_for_the_log() -> None:
    big = "z" * (LOG_LIMIT * 3)
    state = {"status": "completed", "input": {"filePath": "a", "content": big}, "output": big}
    line = json.dumps(
        {"type": "tool_use", "sessionID": "s", "part": {"tool": "write", "callID": "w",
                                                        "state": state}}
    )  # fmt: skip
    call, result = feed_all([line])[1]
    assert isinstance(call, ToolCallEvent) and isinstance(result, ToolResultEvent)
    assert len(str(call.arguments["content"])) < LOG_LIMIT + 100
    assert result.output.endswith("more characters not logged]")
    assert result.duration_ms is None  # no times given


@pytest.mark.parametrize(
    ("name", "kind"),
    [("read", "read"), ("list", "read"), ("glob", "read"), ("write", "edit"), ("edit", "edit"),
     ("multiedit", "edit"), ("apply_patch", "edit"), ("bash", "command"), ("grep", "search"),
     ("websearch", "search"), ("webfetch", "other"), ("task", "other"), ("skill", "other")],
)  # fmt: skip
def test_tool_kinds(name: str, kind: str) -> None:
    part = {"tool": name, "callID": "t", "state": {"status": "completed", "input": {}}}
    call, _result = feed_all([json.dumps({"type": "tool_use", "part": part})])[1]
    assert isinstance(call, ToolCallEvent) and call.tool_kind.value == kind


# -- the real CLI through the engine -------------------------------------------------------


def opencode_profile(seedbed: SeedbedCli, server: ModelServer, *extra: str) -> None:
    binary = str(cli_binary("opencode"))
    seedbed.ok("profile", "add", "oc", "--kind", "opencode", "--binary", binary,
               "--model", "local/test-model", "--base-url", server.openai_url, *extra)  # fmt: skip


def run_task(seedbed: SeedbedCli) -> dict[str, Any]:
    added = seedbed.ok("task", "add", "--project", "demo", "--title", "Write hello.txt",
                       "--prompt", "Create hello.txt saying hello.", "--start")  # fmt: skip
    seedbed.ok("run", "--until-idle")
    return seedbed.show(added.out.strip())


def test_opencode_writes_a_file_then_continues_its_session_for_a_follow_up(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The user's own inline config gives the model a price; Seedbed adds the provider.
    monkeypatch.setenv("OPENCODE_CONFIG_CONTENT", json.dumps(PRICED))
    monkeypatch.setenv("LOCAL_API_KEY", KEY)
    opencode_profile(seedbed, model_server)
    write = {"filePath": "hello.txt", "content": "hello\n"}
    model_server.script(
        answer(["I'll create ", "the file."], tool_calls=[("call_1", "write", write)],
               usage=(1200, 40), split_every=9),
        answer("Created hello.txt.", usage=(1500, 12)),
    )  # fmt: skip

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert shown["diff"] == {"files": 1, "insertions": 1, "deletions": 0}
    worktree = Path(shown["worktree"])
    assert (worktree / "hello.txt").read_text() == "hello\n"
    [run] = shown["runs"]
    assert (run["status"], run["exit_code"]) == ("succeeded", 0)
    assert (run["tokens_in"], run["tokens_out"]) == (2700, 52)
    assert run["cost_usd"] == pytest.approx((2700 * 3 + 52 * 15) / 1e6)
    events = seedbed.log_events(shown["id"])
    calls = [e for e in events if e["kind"] == "tool_call"]
    assert [(c["name"], c["tool_kind"], c["arguments"]) for c in calls] == [
        ("write", "edit", write)
    ]
    [result] = [e for e in events if e["kind"] == "tool_result"]
    assert (result["call_id"], result["is_error"]) == ("call_1", False)
    texts = [e["text"] for e in events if e["kind"] == "text"]
    assert texts == ["I'll create the file.", "Created hello.txt."]
    assert [e["tokens_in"] for e in events if e["kind"] == "usage"] == [1200, 1500]
    posts = model_server.posts
    assert [p.path for p in posts] == ["/v1/chat/completions"] * 2  # no title call
    assert posts[0].headers["authorization"] == f"Bearer {KEY}"
    assert posts[0].body["messages"][-1]["content"] == (
        "Write hello.txt\n\nCreate hello.txt saying hello."
    )
    store = Store.open(seedbed.data_dir)
    session = json.loads(store.list_runs(shown["id"])[0].conversation)["session_id"]
    store.close()
    assert session.startswith("ses_")

    model_server.script(
        answer(
            tool_calls=[("call_2", "bash", {"command": "echo bye > bye.txt", "description": "b"})],
            usage=(1700, 20),
        ),
        answer("Added bye.txt.", usage=(1800, 8)),
    )
    seedbed.ok("task", "request-changes", str(shown["id"]), "--message", "Also write bye.txt")
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(shown["id"])

    assert (shown["phase"], [r["kind"] for r in shown["runs"]]) == ("ready", ["implement", "fix"])
    assert (worktree / "bye.txt").read_text() == "bye\n"
    assert shown["diff"]["files"] == 2
    resumed = json.dumps(model_server.posts[2].body["messages"])
    assert "Create hello.txt saying hello." in resumed and "Created hello.txt." in resumed
    assert model_server.posts[2].body["messages"][-1]["content"] == "Also write bye.txt"
    second = seedbed.log_events(shown["id"])
    assert [(e["name"], e["tool_kind"]) for e in second if e["kind"] == "tool_call"] == [
        ("bash", "command")
    ]
    store = Store.open(seedbed.data_dir)
    runs = store.list_runs(shown["id"])
    store.close()
    assert json.loads(runs[1].conversation)["session_id"] == session
    everything = seedbed.ok("task", "log", str(shown["id"]), "--json", "--run", "1").out
    assert KEY not in everything + json.dumps(shown)


def test_an_opencode_server_that_never_answers_ends_the_run_at_the_idle_timeout(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    # The idle clock starts when the CLI does and only stdout winds it back, and OpenCode
    # 1.18.33 prints nothing on stdout before the model's first answer: its start-up must
    # fit in the idle timeout for the run to reach the server at all. In a fresh HOME
    # (each test's) it took 6 to 10 s to the first POST on a busy two-core machine: its
    # first run installs its plugin SDK, migrates its database and sets up its snapshot
    # repository. 20 s leaves room; the server holds the call far longer, so OpenCode
    # cannot give up and call again before the idle timeout ends the run.
    opencode_profile(seedbed, model_server, "--idle-timeout", "20", "--extra-arg=--print-logs")
    model_server.script(hang(120))
    started = time.monotonic()
    shown = run_task(seedbed)
    assert time.monotonic() - started < 60
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["error"] == "OpenCode printed nothing for 20 s"
    assert shown["runs"][0]["status"] == "timed_out"
    assert len(model_server.posts) == 1  # it was waiting for the server
    events = seedbed.log_events(shown["id"])
    assert any(e["kind"] == "output" and e["stream"] == "stderr" for e in events)


def test_an_opencode_api_error_fails_the_task_with_the_apis_message(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    opencode_profile(seedbed, model_server)
    model_server.script(http_error(401, "Incorrect API key provided"))
    shown = run_task(seedbed)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["error"] == "Incorrect API key provided (HTTP 401)"
    assert (shown["runs"][0]["status"], shown["runs"][0]["exit_code"]) == ("failed", 1)


def test_a_missing_opencode_says_how_to_install_it(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    seedbed.ok("profile", "add", "oc", "--kind", "opencode",
               "--binary", str(tmp_path / "nowhere" / "opencode"))  # fmt: skip
    shown = run_task(seedbed)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert "OpenCode is not installed" in shown["error"]
    assert "npm install -g opencode-ai" in shown["error"]


def test_in_a_sandbox_it_writes_its_data_config_and_state_dirs(tmp_path: Path) -> None:
    adapter = OpenCodeAdapter()
    home = {"HOME": "/home/me"}
    assert adapter.sandbox_dirs(home) == [
        Path("/home/me/.local/share/opencode"),
        Path("/home/me/.config/opencode"),
        Path("/home/me/.local/state/opencode"),
    ]
    xdg = {**home, "XDG_DATA_HOME": "/d", "XDG_CONFIG_HOME": "/c", "XDG_STATE_HOME": "/s"}
    assert adapter.sandbox_dirs(xdg) == [
        Path("/d/opencode"),
        Path("/c/opencode"),
        Path("/s/opencode"),
    ]


def test_opencode_works_in_a_sandbox_with_the_model_network(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It reaches the model server through the proxy, writes its worktree, and its bash
    cannot write the home; its session is kept for the follow-up. The one thing refused
    is its plugin SDK's npm install, which a run does not wait for."""
    if not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    monkeypatch.setenv("LOCAL_API_KEY", KEY)
    opencode_profile(seedbed, model_server, "--sandbox", "--network", "model")
    escaped = Path.home() / "escaped.txt"
    write = {"filePath": "hello.txt", "content": "hello\n"}
    bash = {"command": f"echo out > {escaped}; echo tried", "description": "home"}
    model_server.script(
        answer(tool_calls=[("call_1", "write", write)], usage=(1200, 40)),
        answer(tool_calls=[("call_2", "bash", bash)], usage=(1300, 20)),
        answer("Done.", usage=(1500, 12)),
    )

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    worktree = Path(shown["worktree"])
    assert (worktree / "hello.txt").read_text() == "hello\n"
    assert not escaped.exists()
    events = seedbed.log_events(shown["id"])
    notes = [e["message"] for e in events if e["kind"] == "status"]
    assert any(note.startswith("sandbox: network model") for note in notes), notes
    refused = [note.split(" (")[0] for note in notes if note.startswith("sandbox: refused")]
    assert refused in ([], ["sandbox: refused connect to registry.npmjs.org:443"]), refused
    results = [e for e in events if e["kind"] == "tool_result"]
    assert "Read-only file system" in results[1]["output"], results
    assert model_server.posts[0].headers["authorization"] == f"Bearer {KEY}"

    model_server.script(answer("Still here.", usage=(1700, 8)))
    seedbed.ok("task", "request-changes", str(shown["id"]), "--message", "Anything else?")
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(shown["id"])
    assert shown["phase"] == "ready", shown["error"]
    assert "Create hello.txt saying hello." in json.dumps(model_server.posts[3].body["messages"])
