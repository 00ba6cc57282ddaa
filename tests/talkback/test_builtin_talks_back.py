"""The built-in agent reaches Seedbed's own MCP server too: it runs in the engine, so it
connects to its run's socket directly with the SDK's client (no shim). Its model is
offered Seedbed's tools from the first turn, reports progress, adds a task, asks the
user and gets the answer as the tool's result; a stop while it waits ends it at once."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from seedbed.sandbox.bwrap import sandbox_support
from tests.conftest import SeedbedCli
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer, answer
from tests.talkback.test_ask_user import (  # noqa: F401 (spawn: a fixture)
    needs_input,
    said,
    spawn,
    stopped_at_once,
)

QUESTION = "Tabs or spaces?"


def builtin(seedbed: SeedbedCli, model_server: ModelServer, *options: str) -> None:
    seedbed.ok("key", "set", "openai", input="sk-test-key")
    seedbed.ok(
        "profile", "add", "own", "--kind", "builtin", "--provider", "openai",
        "--model", "test-model", "--base-url", model_server.openai_url, "--key-name", "openai",
        *options,
    )  # fmt: skip


def tool_results(body: dict[str, Any]) -> dict[str, str]:
    """The tool results an OpenAI chat request carries, by their call's id."""
    return {
        message["tool_call_id"]: message["content"]
        for message in body["messages"]
        if message.get("role") == "tool"
    }


@pytest.mark.parametrize("sandboxed", [False, True])
def test_the_builtin_agent_reports_adds_a_task_and_asks_the_user(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    spawn: Callable[..., subprocess.Popen[str]],  # noqa: F811
    sandboxed: bool,
) -> None:
    if sandboxed and not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    builtin(seedbed, model_server, *(["--sandbox"] if sandboxed else ["--no-sandbox"]))
    other = seedbed.ok("task", "add", "--project", "demo", "--title", "Another").out.strip()
    model_server.script(
        answer(tool_calls=[("c1", "seedbed__report_progress", {"text": "halfway"})]),
        answer(
            tool_calls=[
                (
                    "c2",
                    "seedbed__create_task",
                    {"title": "Docs", "prompt": "Write the docs.", "after": [int(other)]},
                )
            ]
        ),
        answer(
            tool_calls=[
                ("c3", "seedbed__ask_user", {"question": QUESTION, "options": ["tabs", "spaces"]})
            ]
        ),
        answer("Indented as told."),
    )
    task_id = int(
        seedbed.ok(
            "task", "add", "--project", "demo", "--title", "Indent", "--profile", "own", "--start"
        ).out
    )
    engine = spawn("run", "--until-idle")

    shown = needs_input(seedbed, task_id)
    question = shown["question"]
    assert (question["text"], question["options"]) == (QUESTION, ["tabs", "spaces"])
    assert shown["progress"] == "halfway"
    seedbed.ok("task", "answer", str(task_id), "spaces, four")
    out, err = engine.communicate(timeout=120)
    assert engine.returncode == 0, out + err

    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    first = model_server.posts[0].body
    offered = {tool["function"]["name"] for tool in first["tools"]}
    assert {"seedbed__ask_user", "seedbed__create_task", "seedbed__report_progress"} <= offered
    assert "seedbed__request_permission" not in offered  # it has no prompts to send there
    results = tool_results(model_server.posts[-1].body)
    assert results["c1"] == "shown on your task's card"
    added = max(int(other), task_id) + 1
    waits = "in Planned; it waits there for the user to start it"
    assert results["c2"] == f"added task #{added} {waits}"
    assert results["c3"] == "spaces, four"
    new = seedbed.show(added)
    assert (new["title"], new["state"], new["after"]) == ("Docs", "planned", [int(other)])
    assert (new["origin_id"], new["profile"]) == (task_id, "own")
    log = said(seedbed, task_id)
    assert "progress: halfway" in log
    assert f"question: {QUESTION} [tabs / spaces]" in log
    assert "answer (from the cli): spaces, four" in log
    calls = [e["name"] for e in seedbed.log_events(task_id) if e["kind"] == "tool_call"]
    assert calls == ["seedbed__report_progress", "seedbed__create_task", "seedbed__ask_user"]


def test_stopping_a_builtin_run_that_waits_on_a_question_stops_it_at_once(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    spawn: Callable[..., subprocess.Popen[str]],  # noqa: F811
) -> None:
    builtin(seedbed, model_server, "--no-sandbox")
    model_server.script(
        answer(tool_calls=[("c1", "seedbed__ask_user", {"question": QUESTION})]),
        answer("Never reached."),
    )
    task_id = int(
        seedbed.ok(
            "task", "add", "--project", "demo", "--title", "Ask", "--profile", "own", "--start"
        ).out
    )
    spawn("run")  # an engine that stays: the stop's answer comes back through it

    stopped_at_once(seedbed, task_id)
    assert len(model_server.posts) == 1
    assert "Never reached" not in json.dumps(seedbed.log_events(task_id))
