"""The built-in agent as an MCP client: through the engine, a saved server's tools join
its own (`NOTES__TOOL`), a call reaches a real stdio MCP server (tests/agents/
notes_server.py, the SDK's MCPServer) and its result, or its error, goes back to the
model and into the log; a server that cannot start is left out, said in the log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path

import pytest
from mcp.types import CallToolResult, ImageContent, TextContent

from seedbed.agents.builtin.mcp_names import tool_name
from seedbed.agents.builtin.mcp_tools import result_text
from seedbed.agents.builtin.seedbed_tools import SeedbedTools
from seedbed.domain.mcp_servers import McpLaunch
from seedbed.sandbox.bwrap import sandbox_support
from tests.agents.conftest import NOTES_SERVER
from tests.conftest import SeedbedCli
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer, answer


def add_notes_server(seedbed: SeedbedCli, *options: str) -> None:
    """The notes server, writing notes.txt in the run's worktree (its working directory)."""
    seedbed.ok(
        "mcp", "add", "notes", "--env", "NOTES_FILE=notes.txt", *options,
        "--", sys.executable, str(NOTES_SERVER),
    )  # fmt: skip


@pytest.mark.parametrize("sandboxed", [False, True])
def test_the_builtin_agent_calls_a_tool_of_a_real_stdio_mcp_server(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    sandboxed: bool,
) -> None:
    if sandboxed and not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    seedbed.ok("key", "set", "openai", input="sk-test-key")
    seedbed.ok(
        "profile", "add", "own", "--kind", "builtin", "--provider", "openai",
        "--model", "test-model", "--base-url", model_server.openai_url, "--key-name", "openai",
        *(["--sandbox", "--network", "model"] if sandboxed else ["--no-sandbox"]),
    )  # fmt: skip
    # A variable named like a token, which a sandbox withholds but from the server's own.
    add_notes_server(seedbed, "--env", "NOTES_TOKEN=tok-123")
    seedbed.ok("mcp", "add", "broken", "--", sys.executable, "-c", "import sys; sys.exit('no')")
    model_server.script(
        answer(tool_calls=[("c1", "notes__note", {"text": "from the agent"})]),
        answer(tool_calls=[("c2", "notes__fail", {})]),
        answer("Noted."),
    )
    task_id = seedbed.ok(
        "task", "add", "--project", project, "--title", "Take a note", "--start"
    ).out.strip()

    seedbed.ok("run", "--until-idle")

    shown = seedbed.show(task_id)
    assert shown["runs"][0]["status"] == "succeeded", shown["error"]
    assert (Path(shown["worktree"]) / "notes.txt").read_text() == "from the agent #tok-123\n"
    first, second, third = model_server.posts
    offered = {tool["function"]["name"] for tool in first.body["tools"]}
    assert {"notes__note", "notes__fail", "read_file"} <= offered
    assert not any(name.startswith("broken__") for name in offered)
    assert "noted: from the agent" in json.dumps(second.body["messages"][-1])
    assert "the notes are closed" in json.dumps(third.body["messages"][-1])
    events = seedbed.log_events(task_id)
    calls = [(e["name"], e["arguments"]) for e in events if e["kind"] == "tool_call"]
    assert calls == [("notes__note", {"text": "from the agent"}), ("notes__fail", {})]
    results = [(e["output"], e["is_error"]) for e in events if e["kind"] == "tool_result"]
    assert results[0] == ("noted: from the agent", False)
    assert "the notes are closed" in results[1][0] and results[1][1] is True
    notes = [e["message"] for e in events if e["kind"] == "status" and e["phase"] == "mcp"]
    assert "MCP server 'notes': notes__note, notes__fail, notes__wait, notes__whoami" in notes
    assert any(n.startswith("MCP server 'broken' left out:") and "no" in n for n in notes)


def test_the_builtin_agent_calls_an_http_server_with_its_keyring_header(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    http_server: str,
) -> None:
    seedbed.ok("key", "set", "openai", input="sk-test-key")
    seedbed.ok("key", "set", "notes-token", input="Bearer tok-0123456789")
    seedbed.ok(
        "profile", "add", "own", "--kind", "builtin", "--provider", "openai",
        "--model", "test-model", "--base-url", model_server.openai_url, "--key-name", "openai",
        "--no-sandbox",
    )  # fmt: skip
    seedbed.ok(
        "mcp", "add", "web", "--url", http_server, "--header-key", "Authorization=notes-token"
    )
    model_server.script(answer(tool_calls=[("c1", "web__whoami", {})]), answer("Done."))
    task_id = seedbed.ok("task", "add", "--project", project, "--title", "Who", "--start").out

    seedbed.ok("run", "--until-idle")

    assert seedbed.show(task_id.strip())["runs"][0]["status"] == "succeeded"
    assert "you are Bearer tok-0123456789" in json.dumps(model_server.posts[1].body)
    log = json.dumps(seedbed.log_events(task_id.strip()))
    assert "web__whoami" in log and "tok-0123456789" not in log  # the token is scrubbed


def test_a_server_given_to_another_profile_is_not_started(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, file_keyring: FileStore
) -> None:
    seedbed.ok("key", "set", "openai", input="sk-test-key")
    for name in ("own", "other"):
        seedbed.ok(
            "profile", "add", name, "--kind", "builtin", "--provider", "openai",
            "--model", "test-model", "--base-url", model_server.openai_url,
            "--key-name", "openai", "--no-sandbox",
        )  # fmt: skip
    add_notes_server(seedbed, "--profile", "other")
    model_server.script(answer("Nothing to do."))
    task_id = seedbed.ok(
        "task", "add", "--project", project, "--title", "T", "--profile", "own", "--start"
    ).out.strip()

    seedbed.ok("run", "--until-idle")

    [post] = model_server.posts
    assert not any(t["function"]["name"].startswith("notes__") for t in post.body["tools"])
    assert seedbed.show(task_id)["runs"][0]["status"] == "succeeded"


def test_tool_names_are_what_a_model_api_takes() -> None:
    assert tool_name("db", "query", set()) == "db__query"
    assert tool_name("db", "run.sql", set()) == "db__run_sql"
    long = tool_name("s" * 48, "t" * 40, set())
    assert len(long) == 64 and tool_name("s" * 48, "t" * 41, {long}).endswith("_2")


def test_a_result_is_its_text_blocks_else_its_structured_content() -> None:
    text = CallToolResult(content=[TextContent(type="text", text="a"), ImageContent(
        type="image", data="", mime_type="image/png")])  # fmt: skip
    assert result_text(text) == "a\n[image content]"
    assert result_text(CallToolResult(content=[], structured_content={"n": 1})) == '{"n": 1}'


def test_stopping_a_run_in_a_servers_tool_call_stops_it_at_once(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, file_keyring: FileStore
) -> None:
    seedbed.ok("key", "set", "openai", input="sk-test-key")
    seedbed.ok(
        "profile", "add", "own", "--kind", "builtin", "--provider", "openai",
        "--model", "test-model", "--base-url", model_server.openai_url, "--key-name", "openai",
        "--no-sandbox",
    )  # fmt: skip
    add_notes_server(seedbed)
    model_server.script(answer(tool_calls=[("c1", "notes__wait", {"seconds": 600})]))
    task_id = seedbed.ok("task", "add", "--project", project, "--title", "W", "--start").out
    engine = seedbed.spawn("run")
    try:
        deadline = time.monotonic() + 60
        while not seedbed.show(task_id.strip()).get("runs") or not any(
            e["kind"] == "tool_call" for e in seedbed.log_events(task_id.strip())
        ):
            assert time.monotonic() < deadline, "the tool was never called"
            time.sleep(0.1)

        started = time.monotonic()
        shown = seedbed.ok("task", "stop", task_id.strip(), "--json").json()

        assert time.monotonic() - started < 10
        assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
        assert seedbed.show(task_id.strip())["runs"][0]["status"] == "stopped"
    finally:
        engine.terminate()
        engine.communicate(timeout=60)


def test_a_stop_while_seedbeds_server_is_reached_closes_the_connection(tmp_path: Path) -> None:
    """Cancelled while its first call connects (the server never answers `initialize`):
    the connection begun is closed on the run's task, and nothing is left running."""

    async def scenario() -> tuple[bool, int]:
        closed = asyncio.Event()

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while await reader.read(4096):
                pass  # never answers
            closed.set()
            writer.close()

        server = await asyncio.start_unix_server(silent, path=str(tmp_path / "s.sock"))
        launch = McpLaunch(name="seedbed", socket=str(tmp_path / "s.sock"))
        tools = SeedbedTools(launch, tmp_path, set())
        call = asyncio.create_task(tools.call(tools.specs[0].name, "{}"))
        await asyncio.sleep(1.0)
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await call
        await tools.aclose()
        await asyncio.wait_for(closed.wait(), 5)
        server.close()
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return closed.is_set(), len(left)

    assert asyncio.run(scenario()) == (True, 0)
