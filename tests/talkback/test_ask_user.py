"""Real Claude Code asks the user through Seedbed's `ask_user`: the task waits in
Awaiting review (needs_input) while `seedbed run` runs in the background, `task answer`
sends the reply, the next model request carries it as the tool's result and the run
finishes; a question nobody answers ends at the setting's bound (the profile's idle
timeout, shorter, does not fire meanwhile), and a stop ends a waiting run at once."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from seedbed.domain.models import Settings
from seedbed.sandbox.bwrap import sandbox_support
from seedbed.store.settings import save_settings
from tests.agents.cli.test_claude_code import KEY, claude_profile
from tests.agents.cli.test_gemini import gemini_answer, user_settings
from tests.cli_tools import cli_binary
from tests.conftest import SeedbedCli
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer, answer, anthropic_answer
from tests.talkback.test_claude_talks_back import tool_results

QUESTION = "Which colour should the button be?"


@pytest.fixture
def spawn(seedbed: SeedbedCli) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """`seedbed …` processes, ended and reaped after the test, pass or fail."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        procs.append(seedbed.spawn(*args))
        return procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
        proc.communicate(timeout=30)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def asking(seedbed: SeedbedCli, model_server: ModelServer, *profile: str) -> int:
    """A Claude Code profile whose model asks QUESTION, then ends; its task, started."""
    seedbed.ok("key", "set", "anthropic", input=KEY)
    claude_profile(seedbed, "--base-url", model_server.url, "--key-name", "anthropic", *profile)
    model_server.script(
        anthropic_answer(
            tool_calls=[
                (
                    "toolu_1",
                    "mcp__seedbed__ask_user",
                    {"question": QUESTION, "options": ["red", "blue"]},
                )
            ],
            usage=(1000, 10),
        ),
        anthropic_answer("Done as told.", usage=(1100, 10)),
    )
    added = seedbed.ok("task", "add", "--project", "demo", "--title", "Paint the button",
                       "--prompt", "Paint the button.", "--start")  # fmt: skip
    return int(added.out.strip())


def needs_input(seedbed: SeedbedCli, task_id: int) -> dict[str, Any]:
    def asks() -> bool:
        shown = seedbed.show(task_id)
        assert shown["state"] != "awaiting_review" or shown["phase"] == "needs_input", shown
        return bool(shown["phase"] == "needs_input")

    wait_for(asks, 90, "the agent's question")
    return seedbed.show(task_id)


def ended(proc: subprocess.Popen[str]) -> None:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err


def said(seedbed: SeedbedCli, task_id: int) -> list[str]:
    return [e["message"] for e in seedbed.log_events(task_id) if e["kind"] == "status"]


@pytest.mark.parametrize("sandboxed", [False, True])
def test_the_user_answers_claude_codes_question_and_the_run_goes_on(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    spawn: Callable[..., subprocess.Popen[str]],
    sandboxed: bool,
) -> None:
    if sandboxed and not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    boxed = ["--sandbox", "--network", "model"] if sandboxed else []
    task_id = asking(seedbed, model_server, *boxed)
    engine = spawn("run", "--until-idle")

    shown = needs_input(seedbed, task_id)
    assert shown["state"] == "awaiting_review"
    question = shown["question"]
    assert (question["text"], question["options"]) == (QUESTION, ["red", "blue"])
    text = seedbed.ok("task", "show", str(task_id)).out
    assert f"asks (question): {QUESTION}" in text and "options: red / blue" in text
    seedbed.ok("task", "answer", str(task_id), "blue, like the logo")
    ended(engine)

    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert shown["question"] is None
    assert tool_results(model_server.posts[-1].body)["toolu_1"] == "blue, like the logo"
    log = said(seedbed, task_id)
    assert f"question: {QUESTION} [red / blue]" in log
    assert "answer (from the cli): blue, like the logo" in log
    assert seedbed("task", "answer", str(task_id), "again").code != 0  # nothing waits now


def test_a_question_nobody_answers_ends_at_the_bound_and_the_idle_timeout_waits(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    spawn: Callable[..., subprocess.Popen[str]],
) -> None:
    save_settings(seedbed.data_dir, Settings(question_wait_s=14))
    task_id = asking(seedbed, model_server, "--idle-timeout", "8")
    engine = spawn("run", "--until-idle")

    needs_input(seedbed, task_id)
    ended(engine)

    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    reason = "no answer within 14 s: decide yourself and say so"
    assert tool_results(model_server.posts[-1].body)["toolu_1"] == reason
    assert f"no answer: {reason}" in said(seedbed, task_id)


def test_stopping_a_run_that_waits_on_a_question_stops_it_at_once(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    spawn: Callable[..., subprocess.Popen[str]],
) -> None:
    task_id = asking(seedbed, model_server)
    spawn("run")  # an engine that stays: the stop's answer comes back through it

    stopped_at_once(seedbed, task_id)


def stopped_at_once(seedbed: SeedbedCli, task_id: int) -> None:
    """Once the task's agent asks, `task stop` ends the run within seconds, the question
    with it, said in the log."""
    needs_input(seedbed, task_id)
    started = time.monotonic()
    shown = seedbed.ok("task", "stop", str(task_id), "--json").json()

    assert time.monotonic() - started < 10
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
    assert seedbed.show(task_id)["question"] is None
    assert "no answer: the run was stopped while the question waited" in said(seedbed, task_id)


def test_two_questions_asked_together_are_answered_in_turn(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    spawn: Callable[..., subprocess.Popen[str]],
) -> None:
    seedbed.ok("key", "set", "anthropic", input=KEY)
    claude_profile(seedbed, "--base-url", model_server.url, "--key-name", "anthropic")
    questions = {"toolu_1": "Which colour?", "toolu_2": "Which size?"}
    model_server.script(
        anthropic_answer(
            tool_calls=[
                (call, "mcp__seedbed__ask_user", {"question": text})
                for call, text in questions.items()
            ],
            usage=(1000, 10),
        ),
        anthropic_answer("Done as told.", usage=(1100, 10)),
    )
    added = seedbed.ok("task", "add", "--project", "demo", "--title", "Paint the button",
                       "--prompt", "Paint the button.", "--start")  # fmt: skip
    task_id = int(added.out.strip())
    engine = spawn("run", "--until-idle")

    for text in questions.values():

        def asks(text: str = text) -> bool:
            shown = seedbed.show(task_id)
            question = shown["question"] or {}  # none between an answer and the next
            return shown["phase"] == "needs_input" and question.get("text") == text

        wait_for(asks, 90, text)
        seen = seedbed.show(task_id)["question"]["id"]
        seedbed.ok("task", "answer", str(task_id), f"as you like: {text}", "--question", str(seen))
        # The same answer sent again (a second click, a stale window) answers nothing else.
        again = seedbed("task", "answer", str(task_id), "twice", "--question", str(seen))
        assert again.code != 0, again
        assert "answered already" in again.err or "waits on no question" in again.err
    ended(engine)

    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    results = tool_results(model_server.posts[-1].body)
    assert {call: results[call] for call in questions} == {
        call: f"as you like: {text}" for call, text in questions.items()
    }


def test_a_gemini_agent_asks_too_under_the_name_gemini_lets_through(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    isolated_home: Path,
    spawn: Callable[..., subprocess.Popen[str]],
) -> None:
    """Gemini CLI drops every tool named ask_user in headless mode (its own interactive
    one's name): it is offered Seedbed's as ask_the_user, and the answer comes back."""
    user_settings(isolated_home)
    seedbed.ok("key", "set", "gemini", input="gemini-test-key")
    seedbed.ok(
        "profile", "add", "gem", "--kind", "gemini", "--binary", str(cli_binary("gemini")),
        "--model", "gemini-2.5-flash", "--base-url", model_server.url, "--key-name", "gemini",
        "--no-sandbox",
    )  # fmt: skip
    model_server.script(
        gemini_answer(calls=[("mcp_seedbed_ask_the_user", {"question": QUESTION})]),
        gemini_answer(["Painted it."]),
    )
    added = seedbed.ok("task", "add", "--project", "demo", "--title", "Paint the button",
                       "--prompt", "Paint the button.", "--start")  # fmt: skip
    task_id = int(added.out.strip())
    engine = spawn("run", "--until-idle")

    shown = needs_input(seedbed, task_id)
    assert shown["question"]["text"] == QUESTION
    offered = json.dumps(model_server.posts[0].body)
    assert "mcp_seedbed_ask_the_user" in offered
    seedbed.ok("task", "answer", str(task_id), "green")
    ended(engine)

    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert "green" in json.dumps(model_server.posts[-1].body["contents"][-1])


def test_an_opencode_agent_waits_for_an_answer_past_its_own_60_s(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    monkeypatch: pytest.MonkeyPatch,
    spawn: Callable[..., subprocess.Popen[str]],
) -> None:
    """OpenCode ends an MCP call after 60 s unless the server's entry says otherwise:
    Seedbed's says the question's bound, so an answer given later still reaches it."""
    monkeypatch.setenv("LOCAL_API_KEY", "sk-local-test")
    seedbed.ok(
        "profile", "add", "oc", "--kind", "opencode", "--binary", str(cli_binary("opencode")),
        "--model", "local/test-model", "--base-url", model_server.openai_url, "--no-sandbox",
        "--idle-timeout", "30",
    )  # fmt: skip
    model_server.script(
        answer(tool_calls=[("call_1", "seedbed_ask_user", {"question": QUESTION})]),
        answer("Painted it."),
    )
    added = seedbed.ok("task", "add", "--project", "demo", "--title", "Paint the button",
                       "--prompt", "Paint the button.", "--start")  # fmt: skip
    task_id = int(added.out.strip())
    engine = spawn("run", "--until-idle")

    needs_input(seedbed, task_id)
    time.sleep(66)  # past OpenCode's own 60 s (and the profile's idle timeout)
    assert seedbed.show(task_id)["phase"] == "needs_input"
    seedbed.ok("task", "answer", str(task_id), "green, after a while")
    ended(engine)

    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert "green, after a while" in json.dumps(model_server.posts[-1].body["messages"][-1])
