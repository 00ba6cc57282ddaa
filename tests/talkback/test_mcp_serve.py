"""`seedbed mcp serve` driven by the MCP SDK's own client, as a user's assistant would
drive it: a real process on stdio, a real engine behind it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from seedbed.core.app_settings import read_settings, save_settings
from seedbed.core.context import Context
from tests.conftest import SeedbedCli


def texts(result: Any) -> str:
    return "".join(part.text for part in result.content)


def test_an_assistant_lists_adds_starts_comments_and_may_approve_only_when_allowed(
    seedbed: SeedbedCli, project: str, data_dir: Path
) -> None:
    seedbed.ok("profile", "add", "w", "--kind", "command", "--command", "echo done > done.txt")
    first = seedbed.ok("task", "add", "--project", "demo", "--title", "First").out.strip()
    said: dict[str, Any] = {}

    async def drive() -> None:
        server = StdioServerParameters(
            command=sys.executable,
            args=["-m", "seedbed", "--data-dir", str(data_dir), "mcp", "serve"],
        )
        async with (
            stdio_client(server) as (incoming, outgoing),
            ClientSession(incoming, outgoing) as session,
        ):
            await session.initialize()
            said["tools"] = sorted(t.name for t in (await session.list_tools()).tools)
            said["projects"] = texts(await session.call_tool("list_projects", {}))
            added = await session.call_tool(
                "create_task",
                {"project": "demo", "title": "From the assistant", "after": [int(first)]},
            )
            said["added"] = texts(added)
            said["tasks"] = texts(await session.call_tool("list_tasks", {"project": "demo"}))
            said["started"] = texts(await session.call_tool("start_task", {"task_id": int(first)}))
            with anyio.fail_after(60):
                while "Awaiting review" not in said.get("status", ""):
                    await anyio.sleep(0.2)
                    status = await session.call_tool("task_status", {"task_id": int(first)})
                    said["status"] = texts(status).replace("awaiting_review", "Awaiting review")
            comment = {
                "task_id": int(first),
                "text": "Looks good",
                "path": "done.txt",
                "line": 1,
            }
            said["comment"] = texts(await session.call_tool("comment", comment))
            refused = await session.call_tool("approve", {"task_id": int(first)})
            said["refused"] = texts(refused)
            bad = await session.call_tool("task_status", {"task_id": 999})
            said["bad"] = (bad.is_error, texts(bad))

    anyio.run(drive)
    seedbed.ok("engine", "stop")

    assert said["tools"] == [
        "approve", "comment", "create_task", "list_projects", "list_tasks", "start_task",
        "task_status",
    ]  # fmt: skip
    assert said["projects"].startswith("demo: ")
    second = int(first) + 1
    assert said["added"] == f"added task #{second} in Planned"
    assert f"#{second} Planned (draft): From the assistant" in said["tasks"]
    assert said["started"] == f"task #{first} queued to run"
    assert said["comment"] == f"comment added to task #{first}"
    assert said["refused"].startswith(
        f"approving is the user's call: ask them to approve task #{first}"
    )
    assert said["bad"][0] is True and "999" in said["bad"][1]
    shown = seedbed.show(first)
    assert shown["state"] == "awaiting_review"  # not merged: approving was not allowed
    assert seedbed.show(second)["after"] == [int(first)]
    comments = seedbed.ok("comment", "list", first, "--json").json()
    assert [c["body"] for c in comments] == ["Looks good"]


def test_an_assistant_approves_when_the_user_lets_it(
    seedbed: SeedbedCli, project: str, data_dir: Path
) -> None:
    seedbed.ok("profile", "add", "w", "--kind", "command", "--command", "echo done > done.txt")
    task = int(seedbed.ok("task", "add", "--project", "demo", "--title", "Done", "--start").out)
    seedbed.ok("run", "--until-idle")
    context = Context.open(data_dir)
    save_settings(context, read_settings(context).model_copy(update={"mcp_may_approve": True}))
    context.store.close()
    said: dict[str, Any] = {}

    async def drive() -> None:
        server = StdioServerParameters(
            command=sys.executable,
            args=["-m", "seedbed", "--data-dir", str(data_dir), "mcp", "serve"],
        )
        async with (
            stdio_client(server) as (incoming, outgoing),
            ClientSession(incoming, outgoing) as session,
        ):
            await session.initialize()
            said["approved"] = texts(await session.call_tool("approve", {"task_id": task}))

    anyio.run(drive)
    seedbed.ok("engine", "stop")

    assert said["approved"] == f"task #{task} merged into main"
    assert seedbed.show(task)["state"] == "merged"
