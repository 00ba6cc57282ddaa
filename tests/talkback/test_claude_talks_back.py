"""Real Claude Code reaches Seedbed's own MCP server through the run's shim: the model
calls Seedbed's tools (progress, the board, a new task), Claude Code calls the server,
and the next model request carries each tool's result; sandboxed and not."""

from __future__ import annotations

from typing import Any

import pytest

from seedbed.sandbox.bwrap import sandbox_support
from tests.agents.cli.test_claude_code import KEY, claude_profile
from tests.conftest import SeedbedCli
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer, anthropic_answer


def tool_results(body: dict[str, Any]) -> dict[str, str]:
    """The tool results a model request carries, by their call's id."""
    found: dict[str, str] = {}
    for message in body["messages"]:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for block in content:
            if block.get("type") == "tool_result":
                inner = block.get("content")
                text = (
                    "".join(part.get("text", "") for part in inner)
                    if isinstance(inner, list)
                    else str(inner)
                )
                found[block["tool_use_id"]] = text
    return found


@pytest.mark.parametrize("sandboxed", [False, True])
def test_claude_code_reports_progress_reads_the_board_and_adds_a_task(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    sandboxed: bool,
) -> None:
    if sandboxed and not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    seedbed.ok("key", "set", "anthropic", input=KEY)
    boxed = ["--sandbox", "--network", "model"] if sandboxed else []
    claude_profile(seedbed, "--base-url", model_server.url, "--key-name", "anthropic", *boxed)
    # The project's own executor: an unsandboxed one the added task must not get.
    seedbed.ok("profile", "add", "bare", "--kind", "command", "--command", "true", "--no-sandbox")
    seedbed.ok("project", "set", "demo", "--executor", "bare")
    other = seedbed.ok("task", "add", "--project", "demo", "--title", "Another").out.strip()
    model_server.script(
        anthropic_answer(
            tool_calls=[
                ("toolu_1", "mcp__seedbed__report_progress", {"text": "tests pass;\ndocs next"})
            ],
            usage=(1000, 10),
        ),
        anthropic_answer(
            tool_calls=[("toolu_2", "mcp__seedbed__list_tasks", {})], usage=(1100, 10)
        ),
        anthropic_answer(
            tool_calls=[
                (
                    "toolu_3",
                    "mcp__seedbed__create_task",
                    {"title": 'Docs "later"', "prompt": "Write the docs.", "after": [int(other)]},
                )
            ],
            usage=(1200, 10),
        ),
        anthropic_answer(
            tool_calls=[("toolu_4", "mcp__seedbed__task_status", {"task_id": 999})],
            usage=(1300, 10),
        ),
        anthropic_answer("All reported.", usage=(1400, 10)),
    )

    added_by_user = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Write hello.txt", "--profile", "cc",
        "--start",
    ).out.strip()  # fmt: skip
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(added_by_user)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    results = tool_results(model_server.posts[-1].body)
    assert results["toolu_1"] == "shown on your task's card"
    board = results["toolu_2"]
    assert f"#{other} Planned (draft): Another" in board
    assert f"#{shown['id']} Running (implementing): Write hello.txt" in board
    added = int(other) + 2 if int(other) > shown["id"] else shown["id"] + 1
    assert (
        results["toolu_3"]
        == f"added task #{added} in Planned; it waits there for the user to start it"
    )
    assert results["toolu_4"].startswith("there is no task #999 in this project")
    new = seedbed.show(added)
    assert (new["title"], new["state"], new["after"]) == ('Docs "later"', "planned", [int(other)])
    assert new["origin_id"] == shown["id"]
    # Its agent is the adding task's (its sandbox too), not the project's other profile.
    assert new["profile"] == "cc"
    events = seedbed.log_events(shown["id"])
    said = [e["message"] for e in events if e["kind"] == "status"]
    assert "progress: tests pass; docs next" in said
    assert shown["progress"] == "tests pass; docs next"
