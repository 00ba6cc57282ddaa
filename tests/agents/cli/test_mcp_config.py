"""Each CLI is given a run's MCP servers its own way, without the user's config files:
the pure half (mcp_config and prepare), and real Claude Code and Codex runs against the
scripted model server calling a tool of a real stdio MCP server (tests/agents/
notes_server.py), whose result the next model request carries."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from seedbed.agents.base import RunRequest
from seedbed.agents.cli.adapter import CliAdapter, CliRun
from seedbed.agents.cli.aider import AiderAdapter
from seedbed.agents.cli.claude_code import ClaudeCodeAdapter
from seedbed.agents.cli.codex import CodexAdapter
from seedbed.agents.cli.gemini import GeminiAdapter
from seedbed.agents.cli.mcp_setup import McpSetup, mcp_dir, write_mcp_files
from seedbed.agents.cli.opencode import OpenCodeAdapter
from seedbed.agents.process import ManagedProcess, ProcessSpec, run_marker
from seedbed.domain.errors import UserError
from seedbed.domain.events import Event, StatusEvent
from seedbed.domain.mcp_servers import McpLaunch
from seedbed.domain.models import AgentKind, AgentProfile, RunKind
from seedbed.engine.talkback_host import shim_launch
from seedbed.sandbox.bwrap import sandbox_support
from tests.agents.cli.test_gemini import gemini_answer, user_settings
from tests.agents.conftest import NOTES_SERVER
from tests.cli_tools import cli_binary, system_bwrap
from tests.conftest import SeedbedCli
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer, answer

STDIO = McpLaunch(name="notes", command="/usr/bin/notes", args=["--dir", "a b"], env={"T": "x"})
HTTP = McpLaunch(name="web", url="https://mcp.example/x", headers={"Authorization": "Bearer z"})


def request(tmp_path: Path, *servers: McpLaunch, marker: str = "abc:9") -> RunRequest:
    return RunRequest(
        task_id=7, run_id=9, run_number=1, kind=RunKind.IMPLEMENT, title="T", prompt="P",
        worktree=tmp_path, marker=marker, mcp_servers=list(servers),
    )  # fmt: skip


def prepared(
    adapter: CliAdapter, kind: AgentKind, tmp_path: Path, env: dict[str, str], **fields: Any
) -> ProcessSpec:
    profile = AgentProfile(name="p", kind=kind, **fields)
    return adapter.prepare(profile, request(tmp_path, STDIO, HTTP), "/bin/cli", env, "")


def test_claude_code_gets_an_mcp_config_file_and_their_tools_allowed(tmp_path: Path) -> None:
    spec = prepared(ClaudeCodeAdapter(), AgentKind.CLAUDE_CODE, tmp_path, {})
    setup = ClaudeCodeAdapter().mcp_config(request(tmp_path, STDIO, HTTP), {})

    at = spec.argv.index("--mcp-config")
    [(path, text)] = setup.files.items()
    assert spec.argv[at + 1] == str(path) and path.parent == mcp_dir(request(tmp_path))
    assert "Bearer z" not in " ".join(spec.argv)  # no token on the command line
    assert json.loads(text) == {
        "mcpServers": {
            "notes": {"type": "stdio", "command": "/usr/bin/notes", "args": ["--dir", "a b"],
                      "env": {"T": "x"}},
            "web": {"type": "http", "url": "https://mcp.example/x",
                    "headers": {"Authorization": "Bearer z"}},
        }
    }  # fmt: skip
    assert spec.argv[at + 2 : at + 4] == ["--allowedTools", "mcp__notes mcp__web"]
    assert spec.argv.index("--") > at  # the prompt stays last
    bare = ClaudeCodeAdapter().prepare(
        AgentProfile(name="p", kind=AgentKind.CLAUDE_CODE), request(tmp_path), "/bin/c", {}, ""
    )
    assert "--mcp-config" not in bare.argv


def test_codex_gets_one_toml_override_per_key(tmp_path: Path) -> None:
    spec = prepared(
        CodexAdapter(), AgentKind.CODEX, tmp_path, {}, permission_mode="danger-full-access"
    )

    overrides = [spec.argv[i + 1] for i, a in enumerate(spec.argv) if a == "-c"]
    assert [o for o in overrides if o.startswith("mcp_servers.")] == [
        'mcp_servers.notes.default_tools_approval_mode="approve"',
        "mcp_servers.notes.startup_timeout_sec=30",
        'mcp_servers.notes.command="/usr/bin/notes"',
        'mcp_servers.notes.args=["--dir", "a b"]',
        'mcp_servers.notes.env_vars=["T"]',
        'mcp_servers.web.default_tools_approval_mode="approve"',
        "mcp_servers.web.startup_timeout_sec=30",
        'mcp_servers.web.url="https://mcp.example/x"',
        'mcp_servers.web.env_http_headers={"Authorization" = "SEEDBED_MCP_1_TOKEN"}',
    ]
    assert spec.env["SEEDBED_MCP_1_TOKEN"] == "Bearer z" and "Bearer z" not in spec.argv
    # A stdio server's variables by name only: their values in Codex's environment.
    assert spec.env["T"] == "x" and not any(part.split("=")[-1] == "x" for part in spec.argv)
    assert spec.argv.index("--") > spec.argv.index('mcp_servers.web.url="https://mcp.example/x"')


def test_gemini_gets_a_home_of_the_runs_own_with_the_servers_in_its_settings(
    tmp_path: Path,
) -> None:
    adapter = GeminiAdapter()
    users = tmp_path / "home" / ".gemini"
    users.mkdir(parents=True)
    (users / "settings.json").write_text(json.dumps({"mcpServers": {"mine": {}}, "a": 1}))
    (users / "oauth_creds.json").write_text("{}")
    env = {"HOME": str(tmp_path / "home")}
    spec = prepared(adapter, AgentKind.GEMINI, tmp_path, env)
    setup = adapter.mcp_config(request(tmp_path, STDIO, HTTP), env)
    own = Path(spec.env["GEMINI_CLI_HOME"]) / ".gemini"
    assert own.parent.parent == mcp_dir(request(tmp_path)) and spec.env["HOME"] == env["HOME"]

    write_mcp_files(setup)

    try:
        assert (own / "oauth_creds.json").resolve() == users / "oauth_creds.json"  # a link
        assert json.loads((own / "settings.json").read_text()) == {
            "a": 1,
            "mcpServers": {
                "mine": {},
                "notes": {"command": "/usr/bin/notes", "args": ["--dir", "a b"], "env": {"T": "x"}},
                "web": {
                    "httpUrl": "https://mcp.example/x",
                    "headers": {"Authorization": "Bearer z"},
                },
            },
        }
        assert "notes" not in (users / "settings.json").read_text()  # the user's untouched
        assert (own / "settings.json").stat().st_mode & 0o777 == 0o600
    finally:
        shutil.rmtree(mcp_dir(request(tmp_path)))


def test_opencode_gets_the_mcp_key_of_its_inline_config_over_the_users(tmp_path: Path) -> None:
    users = json.dumps({"mcp": {"mine": {"type": "local", "command": ["m"]}}, "theme": "x"})
    spec = prepared(
        OpenCodeAdapter(), AgentKind.OPENCODE, tmp_path, {"OPENCODE_CONFIG_CONTENT": users}
    )

    config = json.loads(spec.env["OPENCODE_CONFIG_CONTENT"])
    assert config["theme"] == "x" and config["mcp"] == {
        "mine": {"type": "local", "command": ["m"]},
        "notes": {"type": "local", "command": ["/usr/bin/notes", "--dir", "a b"],
                  "environment": {"T": "x"}},
        "web": {"type": "remote", "url": "https://mcp.example/x",
                "headers": {"Authorization": "Bearer z"}},
    }  # fmt: skip


def test_aider_has_no_mcp_client_and_says_so(tmp_path: Path) -> None:
    setup = AiderAdapter().mcp_config(request(tmp_path, STDIO, HTTP), {})

    assert (setup.argv, setup.env, setup.files) == ([], {}, {})
    assert setup.note == "Aider has no MCP client: not given notes, web"
    assert AiderAdapter().mcp_config(request(tmp_path), {}).note == ""


# -- real CLIs ----------------------------------------------------------------------------


def add_notes_server(seedbed: SeedbedCli) -> None:
    seedbed.ok(
        "mcp", "add", "notes", "--env", "NOTES_FILE=notes.txt",
        "--", sys.executable, str(NOTES_SERVER),
    )  # fmt: skip


def run_and_check(seedbed: SeedbedCli, model_server: ModelServer, tool: str) -> dict[str, Any]:
    """Run a task whose model calls the notes server's `note`; what `task show` says."""
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Take a note", "--start"
    ).out.strip()
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    for e in seedbed.log_events(task_id):
        print(e)
    print(json.dumps(model_server.posts[0].body)[:3000])
    assert shown["runs"][0]["status"] == "succeeded", shown["error"]
    assert (Path(shown["worktree"]) / "notes.txt").read_text() == "from the model\n"
    after = json.dumps(model_server.posts[1].body)
    assert "noted: from the model" in after  # the tool's result, back to the model
    calls = [e["name"] for e in seedbed.log_events(task_id) if e["kind"] == "tool_call"]
    assert tool in calls
    run_id = shown["runs"][0]["id"]
    own = mcp_dir(request(Path(), marker=run_marker(seedbed.data_dir, run_id)))
    assert not own.exists()  # the run's own files went with it
    return shown


def test_real_claude_code_calls_a_tool_of_the_users_stdio_server(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, file_keyring: FileStore
) -> None:
    seedbed.ok("key", "set", "anthropic", input="sk-ant-test-key")
    seedbed.ok(
        "profile", "add", "cc", "--kind", "claude-code", "--binary", str(cli_binary("claude")),
        "--base-url", model_server.url, "--key-name", "anthropic", "--no-sandbox",
    )  # fmt: skip
    add_notes_server(seedbed)
    model_server.script(
        answer(tool_calls=[("toolu_1", "mcp__notes__note", {"text": "from the model"})]),
        answer("Noted."),
    )

    run_and_check(seedbed, model_server, "mcp__notes__note")


def test_real_codex_calls_a_tool_of_the_users_stdio_server(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Codex sets up its sandbox helper only in a home outside its temporary directory
    # (tests/agents/cli/test_codex.py); its tools are offered as a namespace, mcp__notes.
    system_bwrap()
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    seedbed.ok("key", "set", "openai", input="sk-test-key")
    seedbed.ok(
        "profile", "add", "cx", "--kind", "codex", "--binary", str(cli_binary("codex")),
        "--base-url", model_server.openai_url, "--key-name", "openai", "--no-sandbox",
        "--model", "test-model",
        # Its first turn waits for the server (a Python SDK server, slow to start on a
        # busy machine): else the scripted call may name a tool not yet listed.
        "--extra-arg=-c", "--extra-arg=mcp_servers.notes.required=true",
    )  # fmt: skip
    add_notes_server(seedbed)
    model_server.script(
        answer(tool_calls=[("call_1", "mcp__notes::note", {"text": "from the model"})]),
        answer("Noted."),
    )

    run_and_check(seedbed, model_server, "notes.note")


def test_real_codex_calls_an_http_server_with_its_header_from_a_variable(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    http_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    system_bwrap()
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    seedbed.ok("key", "set", "openai", input="sk-test-key")
    seedbed.ok(
        "profile", "add", "cx", "--kind", "codex", "--binary", str(cli_binary("codex")),
        "--base-url", model_server.openai_url, "--key-name", "openai", "--no-sandbox",
        "--model", "test-model",
    )  # fmt: skip
    seedbed.ok("mcp", "add", "web", "--url", http_server, "--header", "Authorization=Bearer hdr-1")
    model_server.script(answer(tool_calls=[("call_1", "mcp__web::whoami", {})]), answer("Ok."))
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", "Who", "--start").out

    seedbed.ok("run", "--until-idle")

    assert seedbed.show(task_id.strip())["runs"][0]["status"] == "succeeded"
    assert "you are Bearer hdr-1" in json.dumps(model_server.posts[1].body)


def test_agents_doctor_says_aider_takes_no_mcp_servers(
    seedbed: SeedbedCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    aider, claude = cli_binary("aider"), cli_binary("claude")
    monkeypatch.setenv("PATH", f"{aider.parent}:{claude.parent}:{os.environ['PATH']}")

    rows = {line.split()[0]: line for line in seedbed.ok("agents", "doctor").out.splitlines()}

    assert rows["Aider"].endswith("(no MCP client: not given MCP servers)")
    assert "MCP" not in rows["Claude"]


def test_real_opencode_calls_a_tool_of_the_users_stdio_server(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCAL_API_KEY", "sk-local-test")
    seedbed.ok(
        "profile", "add", "oc", "--kind", "opencode", "--binary", str(cli_binary("opencode")),
        "--model", "local/test-model", "--base-url", model_server.openai_url, "--no-sandbox",
    )  # fmt: skip
    add_notes_server(seedbed)
    model_server.script(
        answer(tool_calls=[("call_1", "notes_note", {"text": "from the model"})]),
        answer("Noted."),
    )

    run_and_check(seedbed, model_server, "notes_note")


def test_real_gemini_calls_a_tool_of_the_users_stdio_server(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    isolated_home: Path,
) -> None:
    user_settings(isolated_home)
    seedbed.ok("key", "set", "gemini", input="gemini-test-key")
    seedbed.ok(
        "profile", "add", "gem", "--kind", "gemini", "--binary", str(cli_binary("gemini")),
        "--model", "gemini-2.5-flash", "--base-url", model_server.url, "--key-name", "gemini",
        "--no-sandbox",
    )  # fmt: skip
    add_notes_server(seedbed)
    model_server.script(
        gemini_answer(calls=[("mcp_notes_note", {"text": "from the model"})]),
        gemini_answer(["Noted."]),
    )

    run_and_check(seedbed, model_server, "mcp_notes_note")
    settings = json.loads((isolated_home / ".gemini" / "settings.json").read_text())
    assert "mcpServers" not in settings  # the user's own file, untouched
    assert list((isolated_home / ".gemini" / "tmp").iterdir())  # its session, as ever


@pytest.mark.parametrize("kind", ["claude-code", "gemini"])
def test_a_sandboxed_cli_calls_a_tool_of_the_users_stdio_server(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    isolated_home: Path,
    kind: str,
) -> None:
    """The server starts inside the run's sandbox (its program bound in), given its
    files (Claude Code's config, Gemini's seeded settings) there."""
    if not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    boxed = ("--sandbox", "--network", "model")
    if kind == "gemini":
        user_settings(isolated_home)
        seedbed.ok("key", "set", "gemini", input="gemini-test-key")
        seedbed.ok(
            "profile", "add", "p", "--kind", "gemini", "--binary", str(cli_binary("gemini")),
            "--model", "gemini-2.5-flash", "--base-url", model_server.url, "--key-name",
            "gemini", *boxed,
        )  # fmt: skip
        tool = "mcp_notes_note"
        model_server.script(
            gemini_answer(calls=[(tool, {"text": "from the model"})]), gemini_answer(["Ok."])
        )
    else:
        seedbed.ok("key", "set", "anthropic", input="sk-ant-test-key")
        seedbed.ok(
            "profile", "add", "p", "--kind", "claude-code", "--binary",
            str(cli_binary("claude")), "--base-url", model_server.url, "--key-name",
            "anthropic", *boxed,
        )  # fmt: skip
        tool = "mcp__notes__note"
        model_server.script(
            answer(tool_calls=[("toolu_1", tool, {"text": "from the model"})]), answer("Ok.")
        )
    add_notes_server(seedbed)

    run_and_check(seedbed, model_server, tool)


def test_a_cli_without_an_mcp_client_says_so_first_in_its_log(tmp_path: Path) -> None:
    adapter = AiderAdapter()
    note = adapter.mcp_config(request(tmp_path, STDIO), {}).note

    async def main() -> list[list[Event]]:
        spec = ProcessSpec(argv=["true"], cwd=tmp_path, env=dict(os.environ), timeout=30)
        process = await ManagedProcess.start(spec)
        profile = AgentProfile(name="a", kind=AgentKind.AIDER)
        run = CliRun(process, adapter.parser(), profile, adapter.label, note)
        return [batch async for batch in run.events()]

    batches = asyncio.run(main())

    assert batches[0] == [StatusEvent(phase="mcp", message=note, ts=batches[0][0].ts)]
    assert note == "Aider has no MCP client: not given notes"


def test_a_run_directory_another_user_made_first_is_refused_and_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its name can be guessed: made first by someone else (open to all, a link inside to
    a file of the user's), it is refused, and the file the link names is left alone."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n")
    planted = tmp_path / "seedbed-mcp-planted"  # under the temporary directory
    planted.mkdir()
    planted.chmod(0o777)
    (planted / "claude-mcp.json").symlink_to(victim)

    with pytest.raises(UserError, match="is not a private directory of yours"):
        write_mcp_files(McpSetup(files={planted / "claude-mcp.json": "{}"}))
    assert victim.read_text() == "mine\n"

    fresh = tmp_path / "seedbed-mcp-fresh"
    write_mcp_files(McpSetup(files={fresh / "claude-mcp.json": "{}"}))
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    assert (fresh / "claude-mcp.json").read_text() == "{}"


def test_a_servers_call_timeout_reaches_each_cli_in_its_own_unit(tmp_path: Path) -> None:
    """Seedbed's own server says how long a call may wait (a question: up to a day):
    Codex in seconds, Gemini CLI and OpenCode in milliseconds; none of the user's."""
    slow = STDIO.model_copy(update={"name": "slow", "call_timeout_s": 3600})
    servers = request(tmp_path, slow, STDIO)

    codex = CodexAdapter().mcp_config(servers, {}).argv
    assert "mcp_servers.slow.tool_timeout_sec=3600" in codex
    assert not any(part.startswith("mcp_servers.notes.tool_timeout") for part in codex)
    gemini = GeminiAdapter().mcp_config(servers, {}).merged
    [overlay] = gemini.values()
    assert overlay["mcpServers"]["slow"]["timeout"] == 3_600_000
    assert "timeout" not in overlay["mcpServers"]["notes"]
    opencode = json.loads(OpenCodeAdapter().mcp_config(servers, {}).env["OPENCODE_CONFIG_CONTENT"])
    assert opencode["mcp"]["slow"]["timeout"] == 3_600_000
    assert "timeout" not in opencode["mcp"]["notes"]
    assert shim_launch(Path("/run/s.sock")).call_timeout_s == 24 * 3600 + 120
