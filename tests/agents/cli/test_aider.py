"""Aider: the command line (pure), the shell wrapper around it (with a stand-in Aider),
its plain-text output as events (recorded from the real CLI), and real runs of the
pinned CLI through the engine against a Chat Completions server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from seedbed.agents.base import RunRequest
from seedbed.agents.cli.adapter import cli_sandbox
from seedbed.agents.cli.aider import (
    FLAGS,
    HISTORY_SESSION,
    NO_KEY,
    OFFLINE_ENV,
    STATE_VARIABLE,
    AiderAdapter,
    AiderParser,
    state_dir,
)
from seedbed.agents.cli.doctor import check
from seedbed.agents.cli.registry import adapter_for
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
from seedbed.sandbox.bwrap import bwrap_argv, sandbox_environment, sandbox_support
from seedbed.sandbox.plan import Bind, SandboxPlan
from seedbed.sandbox.programs import install_roots
from tests.cli_tools import cli_binary
from tests.conftest import SeedbedCli, git
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer, answer, hang, http_error

RECORDINGS = Path(__file__).parent / "recordings" / "aider"
KEY = "sk-test-aider-5e6f7a8b9c0d-NEVER-LOG"
WORKTREE = Path("/data/worktrees/demo/7-hello")
STATE = Path("/data/worktrees/demo/.7-hello.aider")
WRAPPER_ARGS = 6  # /bin/sh -c WRAPPER seedbed-aider STATE METADATA


def profile(**fields: Any) -> AgentProfile:
    return AgentProfile(name="aider", kind=AgentKind.AIDER, **fields)


def request(
    prompt: str = "Create hello.txt.", follow_up: str = "", worktree: Path = WORKTREE
) -> RunRequest:
    return RunRequest(
        task_id=7, run_id=11, run_number=2 if follow_up else 1,
        kind=RunKind.FIX if follow_up else RunKind.IMPLEMENT, title="Hello",
        prompt=prompt, worktree=worktree, follow_up=follow_up,
    )  # fmt: skip


def prepare(
    settings: AgentProfile | None = None,
    req: RunRequest | None = None,
    env: dict[str, str] | None = None,
    session_id: str = "",
) -> Any:
    return AiderAdapter().prepare(
        settings or profile(), req or request(), "/bin/aider", env or {}, session_id
    )


def aider_argv(spec: Any) -> list[str]:
    """The argv of Aider itself, after the wrapper's own arguments."""
    assert spec.argv[:2] == ["/bin/sh", "-c"] and spec.argv[3] == "seedbed-aider"
    return spec.argv[WRAPPER_ARGS:]


HISTORY = [
    "--chat-history-file", str(STATE / "chat.history.md"),
    "--input-history-file", str(STATE / "input.history"),
]  # fmt: skip


# prepare: argv, environment, stdin


def test_a_plain_run_asks_the_task_once_with_every_safety_flag() -> None:
    spec = prepare()
    assert aider_argv(spec) == [
        "/bin/aider", "--message-file", "/dev/stdin",
        "--yes-always", "--no-pretty", "--no-check-update", "--no-analytics",
        "--no-show-release-notes", "--no-auto-commits", "--no-dirty-commits",
        "--no-gitignore", "--no-show-model-warnings", "--no-detect-urls",
        "--disable-playwright", "--no-suggest-shell-commands", "--no-fancy-input",
        "--no-auto-lint", *HISTORY,
    ]  # fmt: skip
    assert spec.argv[4:6] == [str(STATE), ""]  # the state dir; no model metadata to write
    assert spec.cwd == WORKTREE
    assert spec.stdin == b"Hello\n\nCreate hello.txt."
    assert "OPENAI_API_KEY" not in spec.env


def test_the_state_dir_is_next_to_the_worktree_not_in_it() -> None:
    assert state_dir(WORKTREE) == STATE
    assert not STATE.is_relative_to(WORKTREE)


def test_model_base_url_metadata_and_extra_args() -> None:
    settings = profile(
        model="qwen-coder", base_url="http://127.0.0.1:11434/v1/", price_in=3, price_out=15,
        context_window=32_000, max_output_tokens=4096,
        extra_args=["--edit-format", "diff"], timeout=900, grace_seconds=2,
    )  # fmt: skip
    spec = prepare(settings)
    assert aider_argv(spec) == [
        "/bin/aider", "--message-file", "/dev/stdin", *FLAGS, *HISTORY,
        "--model", "openai/qwen-coder",
        "--openai-api-base", "http://127.0.0.1:11434/v1",
        "--model-metadata-file", str(STATE / "model.metadata.json"),
        "--edit-format", "diff",
    ]  # fmt: skip
    assert json.loads(spec.argv[5]) == {
        "openai/qwen-coder": {
            "max_input_tokens": 32_000,
            "max_output_tokens": 4096,
            "input_cost_per_token": pytest.approx(3e-6),
            "output_cost_per_token": pytest.approx(15e-6),
            "litellm_provider": "openai",
            "mode": "chat",
        }
    }
    assert (spec.timeout, spec.grace) == (900, 2)


@pytest.mark.parametrize(
    ("model", "base_url", "expected"),
    [
        ("openai/gpt-x", "http://127.0.0.1:8000/v1", "openai/gpt-x"),
        ("Qwen/Qwen2.5-Coder", "http://127.0.0.1:8000/v1", "openai/Qwen/Qwen2.5-Coder"),
        ("sonnet", "", "sonnet"),
        ("anthropic/claude-x", "", "anthropic/claude-x"),
    ],
)
def test_the_model_name_is_litellms(model: str, base_url: str, expected: str) -> None:
    argv = aider_argv(prepare(profile(model=model, base_url=base_url)))
    assert argv[argv.index("--model") + 1] == expected


def test_without_a_model_aider_chooses_and_nothing_is_written() -> None:
    spec = prepare(profile(base_url="http://127.0.0.1:8000/v1"))
    assert "--model" not in spec.argv and "--model-metadata-file" not in spec.argv
    assert spec.argv[5] == ""


def test_the_key_is_only_the_resolved_one() -> None:
    spec = prepare(env={"PATH": "/bin", "OPENAI_API_KEY": KEY})
    assert spec.env["OPENAI_API_KEY"] == KEY
    assert spec.env["PATH"] == "/bin"
    assert KEY not in " ".join(spec.argv)
    assert "OPENAI_API_KEY" not in prepare(env={"PATH": "/bin"}).env


def test_a_base_url_without_a_key_gets_a_stand_in() -> None:
    local = profile(model="m", base_url="http://127.0.0.1:8000/v1")
    assert prepare(local).env["OPENAI_API_KEY"] == NO_KEY
    assert prepare(local, env={"OPENAI_API_KEY": KEY}).env["OPENAI_API_KEY"] == KEY


def test_the_environment_keeps_aider_offline_and_out_of_git_config() -> None:
    env = prepare().env
    assert {name: env[name] for name in OFFLINE_ENV} == OFFLINE_ENV
    assert env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert env["BROWSER"] == "true"
    assert env["GIT_CONFIG_COUNT"] == "2"
    assert [(env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"]) for i in (0, 1)] == [
        ("user.name", "Seedbed"), ("user.email", "seedbed@localhost"),
    ]  # fmt: skip


def test_the_identity_comes_after_configuration_already_in_the_environment() -> None:
    env = prepare(env={"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "a.b"}).env
    assert (env["GIT_CONFIG_COUNT"], env["GIT_CONFIG_KEY_0"]) == ("3", "a.b")
    assert (env["GIT_CONFIG_KEY_1"], env["GIT_CONFIG_KEY_2"]) == ("user.name", "user.email")


def test_a_follow_up_restores_the_chat_history() -> None:
    spec = prepare(req=request(follow_up="Say it twice."), session_id=HISTORY_SESSION)
    argv = aider_argv(spec)
    assert spec.stdin == b"Say it twice."
    assert argv[-1] == "--restore-chat-history"
    assert argv[argv.index("--chat-history-file") + 1] == str(STATE / "chat.history.md")


def test_a_follow_up_without_a_history_asks_the_whole_task_again() -> None:
    spec = prepare(req=request(follow_up="Say it twice."))
    assert "--restore-chat-history" not in spec.argv
    assert spec.stdin == (
        b"Hello\n\nCreate hello.txt.\n\nRequested changes to the work so far:\n\nSay it twice."
    )


def test_the_task_is_said_once_when_its_prompt_is_its_title() -> None:
    assert prepare(req=request(prompt="Hello")).stdin == b"Hello"


@pytest.mark.parametrize("message", ["--help", "x" * 200_000, "two\nlines"])
def test_the_message_is_never_in_argv(message: str) -> None:
    spec = prepare(req=request(follow_up=message), session_id=HISTORY_SESSION)
    assert spec.stdin == message.encode()
    assert message not in spec.argv and all(len(arg) < 4096 for arg in spec.argv)


def test_in_a_sandbox_it_writes_its_state_dir_and_its_own_dir_in_the_home() -> None:
    env = prepare().env
    assert env[STATE_VARIABLE] == str(STATE)
    adapter = AiderAdapter()
    assert adapter.sandbox_dirs({**env, "HOME": "/home/me"}) == [STATE, Path("/home/me/.aider")]
    assert adapter.sandbox_env(env) == {}


def test_a_permission_mode_is_refused() -> None:
    with pytest.raises(UserError, match="Aider has no permission modes"):
        prepare(profile(permission_mode="acceptEdits"))


def test_the_adapter_and_its_versions() -> None:
    adapter = adapter_for(AgentKind.AIDER)
    assert isinstance(adapter, AiderAdapter)
    assert (adapter.label, adapter.binary, adapter.key_env) == ("Aider", "aider", "OPENAI_API_KEY")
    assert "uv tool install aider-chat" in adapter.install_hint
    assert adapter.parse_version("aider 0.86.2") == (0, 86, 2)
    assert adapter.supports((0, 86, 2)) and not adapter.supports((0, 85, 9))
    assert not adapter.supports(None)


# the wrapper, around a stand-in Aider

FAKE_AIDER = """#!/bin/sh
[ -d .aider.tags.cache.v4 ] && echo "cache found"
mkdir -p .aider.tags.cache.v4 && echo db > .aider.tags.cache.v4/cache.db
echo "args: $*"
echo ready
[ -n "$FAKE_SLEEP" ] && sleep "$FAKE_SLEEP"
exit "${FAKE_EXIT:-0}"
"""


@pytest.fixture
def fake_aider(tmp_path: Path) -> Path:
    path = tmp_path / "bin" / "aider"
    path.parent.mkdir()
    path.write_text(FAKE_AIDER)
    path.chmod(0o755)
    return path


def wrapped(fake: Path, worktree: Path, **env: str) -> tuple[Any, dict[str, str]]:
    settings = profile(model="m", base_url="http://127.0.0.1:9/v1")
    spec = AiderAdapter().prepare(settings, request(worktree=worktree), str(fake), {}, "")
    return spec, {"PATH": os.environ["PATH"], **env}


def run_wrapped(fake: Path, worktree: Path, **env: str) -> subprocess.CompletedProcess[str]:
    spec, run_env = wrapped(fake, worktree, **env)
    return subprocess.run(
        spec.argv, cwd=spec.cwd, env=run_env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_the_wrapper_keeps_the_repo_map_cache_out_of_the_worktree(
    fake_aider: Path, tmp_path: Path
) -> None:
    worktree = tmp_path / "worktrees" / "demo" / "7-hello"
    worktree.mkdir(parents=True)
    state = state_dir(worktree)

    first = run_wrapped(fake_aider, worktree, FAKE_EXIT="3")
    assert first.returncode == 3
    assert "cache found" not in first.stdout and "--message-file /dev/stdin" in first.stdout
    assert list(worktree.iterdir()) == []
    assert (state / ".aider.tags.cache.v4" / "cache.db").read_text() == "db\n"
    metadata = json.loads((state / "model.metadata.json").read_text())
    assert list(metadata) == ["openai/m"]

    second = run_wrapped(fake_aider, worktree)
    assert second.returncode == 0
    assert "cache found" in second.stdout  # put back for the run, away again after it
    assert list(worktree.iterdir()) == []
    assert (state / ".aider.tags.cache.v4").is_dir()


def test_a_cache_that_was_in_the_worktree_already_is_left_alone(
    fake_aider: Path, tmp_path: Path
) -> None:
    worktree = tmp_path / "7-hello"
    (worktree / ".aider.tags.cache.v4").mkdir(parents=True)
    assert run_wrapped(fake_aider, worktree).returncode == 0
    assert (worktree / ".aider.tags.cache.v4" / "cache.db").exists()
    assert not (state_dir(worktree) / ".aider.tags.cache.v4").exists()


def test_a_stopped_run_still_puts_the_cache_away(fake_aider: Path, tmp_path: Path) -> None:
    worktree = tmp_path / "7-hello"
    worktree.mkdir()
    spec, env = wrapped(fake_aider, worktree, FAKE_SLEEP="30")
    process = subprocess.Popen(
        spec.argv, cwd=spec.cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    while process.stdout.readline().strip() != "ready":
        pass
    os.killpg(process.pid, signal.SIGTERM)  # as ManagedProcess.stop does: the whole group
    assert process.wait(timeout=10) == 128 + signal.SIGTERM
    process.stdout.close()
    assert list(worktree.iterdir()) == []
    assert (state_dir(worktree) / ".aider.tags.cache.v4" / "cache.db").exists()


# the parser, on recorded output


def recorded(name: str) -> tuple[list[Event], AiderParser]:
    parser = AiderParser()
    events: list[Event] = []
    for line in (RECORDINGS / f"{name}.txt").read_text().splitlines():
        events.extend(parser.feed(line))
    return events, parser


def kinds(events: list[Event], kind: type[Event]) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


def whole_texts(events: list[Event]) -> list[str]:
    return [e.text for e in kinds(events, TextEvent) if not e.delta]


def test_the_recorded_run_that_writes_a_file() -> None:
    events, parser = recorded("write_file")
    assert [e.message for e in kinds(events, StatusEvent)] == [
        "Aider v0.86.2",
        "Model: openai/test-model with whole edit format",
        "Git repo: .git with 2 files",
        "Repo-map: using 4096 tokens, auto refresh",
    ]
    answer_text = "I will create the file.\n\nhello.txt\n```\nhello\n```"
    assert whole_texts(events) == [answer_text]
    deltas = "".join(e.text for e in kinds(events, TextEvent) if e.delta)
    assert deltas.rstrip("\n") == answer_text
    [usage] = kinds(events, UsageEvent)
    assert (usage.tokens_in, usage.tokens_out, usage.cost_usd) == (786, 15, 0.0026)
    [call] = kinds(events, ToolCallEvent)
    assert (call.name, call.tool_kind, call.arguments) == ("edit", "edit", {"path": "hello.txt"})
    [result] = kinds(events, ToolResultEvent)
    assert (result.call_id, result.output, result.is_error) == (
        call.call_id, "Applied edit to hello.txt", False,
    )  # fmt: skip
    # The file name Aider asked "Create new file?" about is its own line: kept raw.
    assert [e.line for e in kinds(events, RawEvent)] == ["hello.txt"]
    assert not kinds(events, ErrorEvent)
    assert (parser.failed, parser.session_id) == (False, HISTORY_SESSION)
    # The usage comes after the answer, the edit after the usage.
    order = [type(e) for e in events if not (isinstance(e, TextEvent) and e.delta)]
    assert order.index(UsageEvent) > order.index(TextEvent)
    assert order.index(ToolCallEvent) > order.index(UsageEvent)


def test_the_recorded_follow_up_restores_then_asks_again_for_the_named_file() -> None:
    events, parser = recorded("follow_up")
    assert "Restored previous conversation history." in [
        e.message for e in kinds(events, StatusEvent)
    ]
    assert whole_texts(events) == [
        "I will say it twice in hello.txt.\n\nhello.txt\n```\nhello\nhello\n```",
        "Now it says hello twice.\n\nhello.txt\n```\nhello\nhello\n```",
    ]
    assert [(u.tokens_in, u.tokens_out) for u in kinds(events, UsageEvent)] == [
        (818, 20), (821, 17),
    ]  # fmt: skip
    assert [c.arguments for c in kinds(events, ToolCallEvent)] == [{"path": "hello.txt"}]
    assert not parser.failed


def test_the_recorded_edit_error_fixed_by_the_next_answer() -> None:
    events, parser = recorded("edit_fixed")
    assert len(whole_texts(events)) == 3
    assert whole_texts(events)[2].startswith("Sorry, fixed.")
    assert [e.message for e in kinds(events, ErrorEvent)] == [
        "The LLM did not conform to the edit format.",
        "# 1 SEARCH/REPLACE block failed to match!",
    ]
    # Aider's explanation (sent back to the model) is kept raw, not taken for an answer.
    raw = [e.line for e in kinds(events, RawEvent)]
    assert raw[0] == "src/app.py" and "<<<<<<< SEARCH" in raw
    assert raw[-1].startswith("The SEARCH section must exactly match")
    [call] = kinds(events, ToolCallEvent)
    assert call.arguments == {"path": "src/app.py"}
    assert [u.tokens_in for u in kinds(events, UsageEvent)] == [2000, 2000, 2200]
    assert (parser.failed, parser.reason) == (False, "")


def test_the_recorded_edit_that_never_applies_fails_the_run() -> None:
    events, parser = recorded("edit_failed")
    assert len(whole_texts(events)) == 4
    assert not kinds(events, ToolCallEvent)
    assert kinds(events, ErrorEvent)[-1].message == "Only 3 reflections allowed, stopping."
    assert parser.failed
    assert parser.reason == (
        "# 1 SEARCH/REPLACE block failed to match! (Only 3 reflections allowed, stopping.)"
    )
    assert sum(u.cost_usd for u in kinds(events, UsageEvent)) == pytest.approx(0.0275)


def test_the_recorded_retry_then_answer_succeeds() -> None:
    events, parser = recorded("api_retry")
    assert [e.message for e in kinds(events, ErrorEvent)] == [
        "litellm.InternalServerError: InternalServerError: OpenAIException - upstream overloaded",
        "The API provider's servers are down or overloaded.",
    ]
    assert [(e.phase, e.message) for e in kinds(events, StatusEvent)][-1] == (
        "retrying", "Retrying in 0.2 seconds...",
    )  # fmt: skip
    assert whole_texts(events) == ["Hello after a retry."]
    assert not parser.failed


def test_the_recorded_api_error_fails_the_run_though_aider_exits_0() -> None:
    events, parser = recorded("api_error")
    [error] = kinds(events, ErrorEvent)
    refused = "prompt is too long: 250000 tokens > 200000 maximum"
    assert error.message == f"litellm.BadRequestError: OpenAIException - {refused}"
    assert parser.failed and parser.reason == error.message
    assert not whole_texts(events)


# the parser, on lines made by hand


def feed(*lines: str) -> tuple[list[Event], AiderParser]:
    parser = AiderParser()
    events = [event for line in lines for event in parser.feed(line)]
    return events, parser


@pytest.mark.parametrize(
    ("line", "tokens_in", "tokens_out", "cost"),
    [
        ("Tokens: 786 sent, 15 received.", 786, 15, 0.0),
        ("Tokens: 1.2k sent, 30 received. Cost: $0.01 message, $0.02 session.", 1200, 30, 0.01),
        ("Tokens: 26k sent, 1.5k received. Cost: $0.08 message, $0.30 session.", 26000, 1500, 0.08),
        ("Tokens: 1.1M sent, 2.5k cache write, 9.0k received.", 1_100_000, 9000, 0.0),
    ],
)
def test_token_lines(line: str, tokens_in: int, tokens_out: int, cost: float) -> None:
    events, _ = feed("Hi.", line)
    [usage] = kinds(events, UsageEvent)
    assert (usage.tokens_in, usage.tokens_out, usage.cost_usd) == (tokens_in, tokens_out, cost)


def test_a_cost_on_its_own_line_after_cache_hits() -> None:
    events, _ = feed(
        "Hi.",
        "Tokens: 3.0k sent, 1.0k cache write, 2.0k cache hit, 40 received.",
        "Cost: $0.0042 message, $0.0100 session.",
    )
    assert [(u.tokens_in, u.tokens_out, u.cost_usd) for u in kinds(events, UsageEvent)] == [
        (3000, 40, 0.0), (0, 0, 0.0042),
    ]  # fmt: skip


def test_an_answer_streams_line_by_line_and_ends_whole() -> None:
    events, _ = feed("", "First line.", "", "Second line.", "Tokens: 10 sent, 5 received.")
    texts = kinds(events, TextEvent)
    assert [t.text for t in texts if t.delta] == ["First line.\n", "\n", "Second line.\n"]
    assert whole_texts(events) == ["First line.\n\nSecond line."]


def test_an_answer_cut_by_an_api_error_is_given_whole_and_the_retry_starts_afresh() -> None:
    events, parser = feed(
        "Half an ans",
        "litellm.APIConnectionError: APIConnectionError: OpenAIException - Connection error.",
        "Retrying in 0.5 seconds...",
        "The whole answer.",
        "Tokens: 10 sent, 5 received.",
    )
    assert whole_texts(events) == ["Half an ans", "The whole answer."]
    assert not parser.failed


def test_an_api_error_after_the_retries_fails_the_run() -> None:
    _, parser = feed(
        "litellm.InternalServerError: InternalServerError: OpenAIException - Connection error.",
        "Retrying in 32.0 seconds...",
        "litellm.InternalServerError: InternalServerError: OpenAIException - Connection error.",
        "The API provider's servers are down or overloaded.",
    )
    assert parser.failed
    assert parser.reason.endswith("Connection error.")


def test_a_dry_run_edit_is_an_edit_that_failed() -> None:
    events, parser = feed(
        "Edit.", "Tokens: 10 sent, 5 received.", "Did not apply edit to a.py (--dry-run)"
    )
    [call] = kinds(events, ToolCallEvent)
    [result] = kinds(events, ToolResultEvent)
    assert call.arguments == {"path": "a.py"} and result.is_error
    assert parser.failed and parser.reason == "Did not apply edit to a.py (--dry-run)"
    # Nothing after it makes the run good again.
    feed_more = parser.feed("Applied edit to b.py")
    assert kinds(feed_more, ToolCallEvent) and parser.failed


@pytest.mark.parametrize(
    "line",
    [
        "Skipping edits to secret.txt that matches gitignore spec.",
        "Unable to create /x/y.py, skipping edits.",
        "Model openai/m has hit a token limit!",
        "Empty response received from LLM. Check your provider account?",
        "Traceback (most recent call last):",
    ],
)
def test_lines_after_which_the_run_has_failed(line: str) -> None:
    events, parser = feed("Answer.", "Tokens: 10 sent, 5 received.", line, "Input tokens: ~9")
    assert kinds(events, ErrorEvent)[-1].message == line
    assert parser.failed and parser.reason
    assert isinstance(events[-1], RawEvent)  # what follows is Aider's detail, not an answer


def test_a_file_name_aider_asks_about_is_raw_and_the_next_answer_is_text() -> None:
    events, _ = feed(
        "Please add src/app.py.",
        "Tokens: 10 sent, 5 received.",
        "",
        "src/app.py",
        "Now I can see it.",
        "Tokens: 20 sent, 5 received.",
    )
    assert [e.line for e in kinds(events, RawEvent)] == ["src/app.py"]
    assert whole_texts(events) == ["Please add src/app.py.", "Now I can see it."]


@pytest.mark.parametrize(
    ("line", "phase"),
    [
        ("Aider v0.86.2", "starting"),
        ("Main model: openai/m with diff edit format", "starting"),
        ("Weak model: openai/m", "starting"),
        ("Added src/app.py to the chat.", "starting"),
        ("Warning: it's best to only add files that need changes to the chat.", "warning"),
        ('Update git name with: git config user.name "Your Name"', "warning"),
        ("Commit 1a2b3c4 feat: say hello", "committed"),
    ],
)
def test_aiders_own_status_lines(line: str, phase: str) -> None:
    events, _ = feed(line)
    assert events == [StatusEvent(phase=phase, message=line, ts=events[0].ts)]


def test_the_session_is_the_history_once_aider_has_started() -> None:
    assert feed("Model: x")[1].session_id == ""
    assert feed("Aider v0.86.2")[1].session_id == HISTORY_SESSION


def test_a_line_that_ends_an_answer_but_is_not_understood_is_kept() -> None:
    events, _ = feed("Answer.", "Tokens: lots sent")
    assert whole_texts(events) == ["Answer."]
    assert events[-1] == RawEvent(line="Tokens: lots sent", ts=events[-1].ts)


def test_blank_lines_outside_an_answer_are_nothing() -> None:
    assert feed("", "   ")[0] == []


# the real CLI through the engine


def test_doctor_finds_the_pinned_cli_supported(monkeypatch: pytest.MonkeyPatch) -> None:
    binary = cli_binary("aider")
    monkeypatch.setenv("PATH", f"{binary.parent}:/usr/bin:/bin")
    found = asyncio.run(check(AiderAdapter()))
    assert (found.path, found.supported, found.version) == (str(binary), True, "0.86.2")


def aider_profile(seedbed: SeedbedCli, server: ModelServer, *extra: str) -> None:
    seedbed.ok(
        "profile", "add", "aider", "--kind", "aider", "--binary", cli_binary("aider"),
        "--model", "test-model", "--base-url", server.openai_url, *extra,
    )  # fmt: skip


def run_task(seedbed: SeedbedCli, title: str = "Write hello.txt") -> dict[str, Any]:
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", title, "--start")
    seedbed.ok("run", "--until-idle")
    return seedbed.show(task_id.out.strip())


def assert_no_aider_files(worktree: Path, diff: str) -> None:
    assert ".aider" not in diff
    assert not [p.name for p in worktree.iterdir() if p.name.startswith(".aider")]
    assert git(worktree, "status", "--porcelain", "--ignored") == ""


WRITE_FILE = answer("I will create the file.\n\nhello.txt\n```\nhello\n```\n", split_every=9)
SAY_TWICE = "I will say it twice.\n\nhello.txt\n```\nhello\nhello\n```\n"


def test_aider_writes_a_file_for_a_task(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, file_keyring: FileStore
) -> None:
    seedbed.ok("key", "set", "openai", input=KEY)
    aider_profile(seedbed, model_server, "--key-name", "openai",
                  "--price-in", "3", "--price-out", "15")  # fmt: skip
    model_server.script(WRITE_FILE)

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert shown["diff"] == {"files": 1, "insertions": 1, "deletions": 0}
    worktree = Path(shown["worktree"])
    assert (worktree / "hello.txt").read_text() == "hello\n"
    diff = seedbed.ok("task", "diff", str(shown["id"])).out
    assert "hello.txt" in diff
    assert_no_aider_files(worktree, diff)
    assert (state_dir(worktree) / "chat.history.md").exists()
    [run] = shown["runs"]
    assert (run["status"], run["exit_code"]) == ("succeeded", 0)
    assert run["tokens_in"] > 100 and run["tokens_out"] > 5  # counted by Aider itself
    assert run["cost_usd"] > 0

    events = seedbed.log_events(shown["id"])
    texts = [e["text"] for e in events if e["kind"] == "text" and not e["delta"]]
    assert texts == ["I will create the file.\n\nhello.txt\n```\nhello\n```"]
    calls = [e for e in events if e["kind"] == "tool_call"]
    assert [(c["name"], c["tool_kind"], c["arguments"]) for c in calls] == [
        ("edit", "edit", {"path": "hello.txt"})
    ]
    [result] = [e for e in events if e["kind"] == "tool_result"]
    assert result["output"] == "Applied edit to hello.txt" and not result["is_error"]
    [usage] = [e for e in events if e["kind"] == "usage"]
    assert (usage["tokens_in"], usage["tokens_out"]) == (run["tokens_in"], run["tokens_out"])

    [post] = model_server.posts  # one model call; nothing else anywhere
    assert [r.method for r in model_server.requests] == ["POST"]
    assert post.path == "/v1/chat/completions"
    assert post.headers["authorization"] == f"Bearer {KEY}"
    assert (post.body["model"], post.body["stream"]) == ("test-model", True)
    assert post.body["messages"][-1]["content"].startswith("Write hello.txt")
    assert KEY not in seedbed.ok("task", "log", str(shown["id"])).out
    written = [*state_dir(worktree).rglob("*"), *(Path.home() / ".aider").rglob("*")]
    assert [p.name for p in written if p.is_file() and KEY.encode() in p.read_bytes()] == []


def test_a_local_server_without_a_key_gets_the_stand_in(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    aider_profile(seedbed, model_server)
    model_server.script(answer("Hello from a local model."))
    shown = run_task(seedbed, "Say hello")
    assert shown["phase"] == "ready", shown["error"]
    assert model_server.posts[0].headers["authorization"] == f"Bearer {NO_KEY}"


def test_request_changes_restores_the_chat_history(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # the variable, with no keyring at all
    aider_profile(seedbed, model_server)
    model_server.script(WRITE_FILE)
    first = run_task(seedbed)
    assert first["phase"] == "ready", first["error"]
    # The answer names hello.txt, which Aider adds to the chat and asks again about.
    model_server.script(answer(SAY_TWICE), answer(SAY_TWICE))
    seedbed.ok("task", "request-changes", str(first["id"]), "--message", "Say it twice.")
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(first["id"])

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert [r["status"] for r in shown["runs"]] == ["succeeded", "succeeded"]
    worktree = Path(shown["worktree"])
    assert (worktree / "hello.txt").read_text() == "hello\nhello\n"
    diff = seedbed.ok("task", "diff", str(shown["id"])).out
    assert_no_aider_files(worktree, diff)
    events = seedbed.log_events(shown["id"], "--run", "2")
    assert "Restored previous conversation history." in [
        e["message"] for e in events if e["kind"] == "status"
    ]
    assert [c["arguments"] for c in events if c["kind"] == "tool_call"] == [{"path": "hello.txt"}]

    # Run 2 asked the follow-up alone, after run 1's conversation restored from its history.
    posts = model_server.posts
    assert len(posts) == 3
    said = [(m["role"], m["content"].strip()) for m in posts[1].body["messages"]]
    assert said[-1][0] == "user" and said[-1][1].startswith("Say it twice.\n\n")
    restored = said.index(("user", "Write hello.txt"))
    assert said[restored + 1] == (
        "assistant", "I will create the file.\n\nhello.txt\n```\nhello\n```",
    )  # fmt: skip
    # Nothing else of run 1 came back as a message: not Aider's own lines, not argv.
    assert not [text for _role, text in said if "--yes-always" in text or "Tokens:" in text]
    assert ("assistant", "I will create the file.\n\nhello.txt\n```\nhello\n```") in said


def test_an_api_error_fails_the_task_with_aiders_reason(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    aider_profile(seedbed, model_server)
    model_server.script(http_error(400, "prompt is too long"))
    shown = run_task(seedbed)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["error"] == "litellm.BadRequestError: OpenAIException - prompt is too long"
    assert (shown["runs"][0]["status"], shown["runs"][0]["exit_code"]) == ("failed", 0)


def test_a_silent_aider_is_ended_by_the_idle_timeout(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    # Not 3 s: Aider prints nothing for about 2 s while it loads (over 3 s on a busy
    # machine), which a 3 s idle timeout cannot tell from a server that never answers.
    aider_profile(seedbed, model_server, "--idle-timeout", "8")
    model_server.script(hang(60))
    started = time.monotonic()
    shown = run_task(seedbed)
    assert time.monotonic() - started < 40
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["error"] == "Aider printed nothing for 8 s"
    assert shown["runs"][0]["status"] == "timed_out"
    assert len(model_server.posts) == 1  # it was waiting for the model, not starting up
    worktree = Path(shown["worktree"])
    assert_no_aider_files(worktree, seedbed.ok("task", "diff", str(shown["id"])).out)
    assert (state_dir(worktree) / ".aider.tags.cache.v4").is_dir()


def test_a_missing_aider_says_how_to_install_it(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    seedbed.ok("profile", "add", "aider", "--kind", "aider", "--binary", tmp_path / "no-aider")
    shown = run_task(seedbed)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert "Aider is not installed" in shown["error"]
    assert "uv tool install aider-chat" in shown["error"]


def test_the_pinned_cli_runs_in_a_sandbox_that_hides_its_venv_and_its_base_python(
    tmp_path: Path,
) -> None:
    """Its venv and the Python it was made from (pyenv's, in the home, say) are bound
    back read-only, each from where it is."""
    if not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    binary = cli_binary("aider")
    venv = binary.resolve().parent.parent
    base = Path(os.path.realpath(venv / "bin" / "python")).parent.parent
    assert install_roots(str(binary)) == [venv, base]
    plan = SandboxPlan(
        cwd=tmp_path,
        hidden=[Path.home(), venv.parent, base.parent],
        binds=[Bind(source=tmp_path, target=tmp_path, writable=True)],
    )
    env = {**os.environ, "HOME": str(Path.home())}
    plan = cli_sandbox(plan, AiderAdapter(), str(binary), env)
    argv = bwrap_argv(sandbox_support().bwrap, plan, [str(binary), "--version"])
    ran = subprocess.run(argv, env=sandbox_environment(env, plan), capture_output=True, text=True)
    assert (ran.returncode, ran.stdout.strip()) == (0, "aider 0.86.2"), ran.stderr
    bare = plan.model_copy(update={"binds": plan.binds[:1]})
    argv = bwrap_argv(sandbox_support().bwrap, bare, [str(binary), "--version"])
    assert subprocess.run(argv, capture_output=True).returncode != 0  # hidden indeed


def test_aider_works_in_a_sandbox_with_the_model_network(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It reaches the model server through the proxy, writes its worktree, its state dir
    beside it and its ~/.aider (Seedbed's copy), each run; nothing it did was refused."""
    if not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    aider_profile(seedbed, model_server, "--sandbox", "--network", "model")
    model_server.script(WRITE_FILE)

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    worktree = Path(shown["worktree"])
    assert (worktree / "hello.txt").read_text() == "hello\n"
    assert_no_aider_files(worktree, seedbed.ok("task", "diff", str(shown["id"])).out)
    assert (state_dir(worktree) / ".aider.tags.cache.v4").is_dir()
    # Its ~/.aider in the sandbox is Seedbed's copy for the profile, never the user's own.
    homes = seedbed.data_dir / "sandbox" / "homes"
    assert [p.relative_to(homes) for p in homes.glob("*/.aider/analytics.json")]
    assert not (Path.home() / ".aider").exists()
    events = seedbed.log_events(shown["id"])
    notes = [e["message"] for e in events if e["kind"] == "status"]
    assert any(note.startswith("sandbox: network model") for note in notes), notes
    assert not [note for note in notes if note.startswith("sandbox: refused")]
    assert model_server.posts[0].headers["authorization"] == f"Bearer {KEY}"

    # The follow-up restores the history the first run wrote in the state dir.
    model_server.script(answer(SAY_TWICE), answer(SAY_TWICE))
    seedbed.ok("task", "request-changes", str(shown["id"]), "--message", "Say it twice.")
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(shown["id"])
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert (worktree / "hello.txt").read_text() == "hello\nhello\n"
    said = [m["content"].strip() for m in model_server.posts[1].body["messages"]]
    assert "Write hello.txt" in said
