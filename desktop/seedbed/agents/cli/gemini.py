"""Gemini CLI (`gemini`), run headless with its stream-json output.

What a run looks like, checked against `gemini --help` and the docs shipped in the
package (docs/cli/headless.md, docs/cli/cli-reference.md, docs/reference/configuration.md)
of 0.61.0, and by running it against a local server speaking the Gemini API:

    gemini --output-format stream-json --prompt "" --approval-mode yolo --skip-trust
           [--model M] [--resume SESSION_ID] [extra args…]      (the message on stdin)

- `--prompt` runs headless; its text is "appended to input on stdin", so the message
  goes on stdin whole and `--prompt` stays empty: no argv length limit, no prompt that
  starts with "-" taken for an option, and the message is not in `ps`.
- `--output-format stream-json` prints one JSON object per line (docs/cli/headless.md):
  `init` (session id, model), `message` (the user's message, then the assistant's text
  as `delta` chunks), `tool_use`, `tool_result`, `error` (warnings and errors the run
  survives) and a final `result` (status, token stats).
- Permissions. A background task needs edits and commands to run unasked, so the
  default is `--approval-mode yolo` ("auto-approve all tools"). With `auto_edit` a
  headless run has no shell tool at all (the model's call is answered `Tool
  "run_shell_command" not found`), so no tests or builds. A profile's
  `--permission-mode` replaces it (default, auto_edit, yolo or plan).
- `--skip-trust` trusts the worktree for this session. Since the fail-closed folder
  trust (0.41 or so) an untrusted folder downgrades yolo to "default" ("Approval mode
  overridden to "default" because the current folder is not trusted") or refuses to
  run; the worktree is Seedbed's own, made for this task. Nothing is written to the
  user's ~/.gemini/trustedFolders.json.
- Follow-ups resume the CLI's own session: `--resume SESSION_ID` with the id of the
  `init` line (the CLI accepts "latest", an index or a session id); the resumed run
  keeps that id and sends the earlier turns again.
- Environment: the key only as GEMINI_API_KEY (put there by CliRuntime when one was
  resolved); a profile's base URL as GOOGLE_GEMINI_BASE_URL (the Gemini API wire format;
  http only to localhost). With that variable set, 0.61.0 picks the "gateway" auth type,
  which its headless mode refuses ("Invalid auth method selected.", exit 41) unless the
  user's Gemini settings select `security.auth.selectedType: "gemini-api-key"`.
  Headless runs make no update check (that lives in the interactive UI only). Usage
  statistics (`privacy.usageStatisticsEnabled`) can only be turned off in a settings
  file, and Seedbed never writes the user's: they stay as the user set them. In
  Seedbed's sandbox, which hides the home, ~/.gemini (settings, sessions) is bound
  writable.

Against a local Gemini API server, with `--model` given, a run makes one
`POST /v1beta/models/MODEL:streamGenerateContent?alt=sse` per turn and nothing else
(without `--model`, "auto" routing first asks a classifier model with generateContent).
An HTTP 5xx is retried with backoff, and a server that never answers is waited
for: the profile's idle timeout ends such a run. Node takes about 2 s to load the CLI
before its first line (more on a busy machine): an idle timeout must be well above that.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from seedbed.agents.base import RunRequest
from seedbed.agents.cli.adapter import CliAdapter, StreamParser, sandbox_source
from seedbed.agents.cli.codex import toml_string
from seedbed.agents.cli.mcp_setup import McpSetup, mcp_dir
from seedbed.agents.process import ProcessSpec
from seedbed.agents.text import bounded, bounded_arguments, task_message
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
from seedbed.domain.mcp_servers import McpLaunch
from seedbed.domain.models import AgentKind, AgentProfile
from seedbed.domain.permissions import Action, shell_policy_rules

DEFAULT_APPROVAL_MODE = "yolo"
# Characters of a tool result, or of one string argument, that reach the log.
REASON_LIMIT = 500

TOOL_KINDS: dict[str, ToolKind] = {
    "read_file": ToolKind.READ,
    "read_many_files": ToolKind.READ,
    "list_directory": ToolKind.READ,
    "glob": ToolKind.READ,
    "write_file": ToolKind.EDIT,
    "replace": ToolKind.EDIT,
    "run_shell_command": ToolKind.COMMAND,
    "list_background_processes": ToolKind.COMMAND,
    "read_background_output": ToolKind.COMMAND,
    "grep_search": ToolKind.SEARCH,
    "search_file_content": ToolKind.SEARCH,
    "google_web_search": ToolKind.SEARCH,
}


class GeminiAdapter(CliAdapter):
    kind = AgentKind.GEMINI
    label = "Gemini CLI"
    binary = "gemini"
    install_hint = (
        "Install it with `npm install -g @google/gemini-cli`, "
        "or give the profile its path with --binary."
    )
    key_provider = "gemini"
    key_env = "GEMINI_API_KEY"
    mcp_client = True
    # stream-json came in 0.11; --skip-trust is what the trust error of 0.41 asks for
    # (and older versions fail on an unknown option). Tested with 0.61.0.
    min_version = (0, 41, 0)
    sandbox_logins = ("oauth_creds.json",)
    sandbox_settings = ("settings.json", "google_accounts.json")

    def sandbox_dirs(self, env: Mapping[str, str]) -> list[Path]:
        """Its settings (the user's auth choice among them), sessions and logs: ~/.gemini,
        where GEMINI_CLI_HOME, if set, stands for the home."""
        home = env.get("GEMINI_CLI_HOME") or env.get("HOME")
        return [Path(home) / ".gemini"] if home else []

    def prepare(
        self,
        profile: AgentProfile,
        request: RunRequest,
        binary: str,
        env: dict[str, str],
        session_id: str,
    ) -> ProcessSpec:
        argv = [
            binary,
            "--output-format",
            "stream-json",
            "--prompt",
            "",
            "--approval-mode",
            profile.permission_mode or DEFAULT_APPROVAL_MODE,
            "--skip-trust",
        ]
        if profile.model:
            argv += ["--model", profile.model]
        resume = bool(request.follow_up and session_id)
        if resume:
            argv += ["--resume", session_id]
        argv += profile.extra_args
        run_env = dict(env)
        setup = self.mcp_config(request, env, profile)
        argv += setup.argv
        run_env.update(setup.env)
        if profile.base_url:
            run_env["GOOGLE_GEMINI_BASE_URL"] = profile.base_url.rstrip("/")
        return ProcessSpec(
            argv=argv,
            cwd=request.worktree,
            env=run_env,
            stdin=task_message(request, resume).encode(),
            timeout=profile.timeout,
            grace=profile.grace_seconds,
        )

    def mcp_config(
        self, request: RunRequest, env: Mapping[str, str], profile: AgentProfile | None = None
    ) -> McpSetup:
        """`mcpServers` laid over the user's settings in a home of the run's own, never in
        the user's ~/.gemini/settings.json. In Seedbed's sandbox that home is the one it
        already has (its .gemini seeded with the user's settings at each start: the
        servers go in that copy). Unsandboxed, GEMINI_CLI_HOME points at one in the
        run's own directory whose .gemini links to the user's (logins, sessions, so a
        follow-up resumes) but for a copy of settings.json with the servers. (Its
        "system defaults" file would need root to own every directory above it.)"""
        policy = gemini_policy(profile.permission_rules if profile else [])
        given = McpSetup()
        if policy:  # the profile's Bash rules, in a file of the run's own
            path = mcp_dir(request) / "policy.toml"
            given = McpSetup(argv=["--policy", str(path)], files={path: policy})
        if not request.mcp_servers:
            return given
        servers = {server.name: gemini_server(server) for server in request.mcp_servers}
        overlay: dict[str, Any] = {"mcpServers": servers}
        users = self.sandbox_dirs(env)
        if request.sandbox is not None and users:
            seeded = sandbox_source(request.sandbox, users[0], env) / "settings.json"
            return given.model_copy(update={"merged": {seeded: overlay}})
        home = mcp_dir(request) / "gemini-home"
        settings = home / ".gemini" / "settings.json"
        return given.model_copy(
            update={
                "env": {"GEMINI_CLI_HOME": str(home)},
                "links": {home / ".gemini": users[0]} if users else {},
                # its sessions: --resume reads them
                "shared": [users[0] / "tmp"] if users else [],
                "merged": {settings: overlay},
            }
        )

    def parser(self) -> GeminiParser:
        return GeminiParser()


# Above the built-in rules (yolo's allow-all among them), which are of a lower tier:
# a deny above an allow, so a deny overrules, as in Seedbed's own rules.
POLICY_PRIORITY = {Action.DENY: 900, Action.ALLOW: 100}


def gemini_policy(rules: list[str]) -> str:
    """The profile's rules about Bash as a Gemini CLI policy file (TOML): each a rule on
    `run_shell_command` whose `commandRegex` is the glob, allow or deny (`ask` refused:
    nobody answers a headless run); "" when there are none. Gemini checks each part of
    a chained command, as Seedbed's rules do."""
    blocks = []
    for regex, action in shell_policy_rules(rules):
        blocks.append(
            "[[rule]]\n"
            'toolName = "run_shell_command"\n'
            f"commandRegex = {toml_string(regex)}\n"
            f'decision = "{action.value}"\n'
            f"priority = {POLICY_PRIORITY[action]}\n"
        )
    return "\n".join(blocks)


def gemini_server(server: McpLaunch) -> dict[str, object]:
    """One server as Gemini CLI's `mcpServers` entry; its `timeout` (ms) bounds each of
    its calls (Gemini's default: 10 minutes)."""
    entry: dict[str, object]
    if server.stdio:
        entry = {"command": server.command, "args": server.args, "env": server.env}
    else:
        entry = {"httpUrl": server.url, "headers": server.headers}
    if server.call_timeout_s is not None:
        entry["timeout"] = server.call_timeout_s * 1000
    return entry


class GeminiParser(StreamParser):
    """stream-json lines to events.

    Assistant text arrives as `delta` chunks: each becomes TextEvent(delta=True), and the
    whole text a TextEvent when the next tool call, error or result ends it. A tool result
    names only its call's id, so the call's name and start are kept until it comes."""

    result_event = "result"

    def __init__(self) -> None:
        self._text: list[str] = []
        self._calls: dict[str, tuple[str, datetime | None]] = {}
        self._last_error = ""

    def feed(self, line: str) -> list[Event]:
        if not line.strip():
            return []
        try:
            data = json.loads(line)
        except ValueError:
            return [RawEvent(line=line)]
        kind = data.get("type") if isinstance(data, dict) else None
        handler = HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            return [RawEvent(line=line)]
        try:
            return handler(self, data)
        except (KeyError, TypeError, ValueError, AttributeError):
            return [*self._flush(), RawEvent(line=line)]

    def _flush(self) -> list[Event]:
        """The whole assistant text so far, once its deltas are over."""
        text = "".join(self._text)
        self._text.clear()
        return [TextEvent(text=text)] if text.strip() else []

    def _init(self, data: dict[str, Any]) -> list[Event]:
        self.session_id = str(data["session_id"])
        message = f"Gemini CLI session {self.session_id}, model {data.get('model')}"
        return [StatusEvent(phase="session", message=message)]

    def _message(self, data: dict[str, Any]) -> list[Event]:
        if data["role"] != "assistant":
            return self._flush()  # our own message, echoed
        text = str(data["content"])
        if not data.get("delta"):
            return [*self._flush(), TextEvent(text=text)]
        self._text.append(text)
        return [TextEvent(text=text, delta=True)]

    def _tool_use(self, data: dict[str, Any]) -> list[Event]:
        call_id, name = str(data["tool_id"]), str(data["tool_name"])
        self._calls[call_id] = (name, timestamp(data))
        arguments = data.get("parameters") or {}
        return [
            *self._flush(),
            ToolCallEvent(
                call_id=call_id,
                name=name,
                tool_kind=TOOL_KINDS.get(name, ToolKind.OTHER),
                arguments=bounded_arguments(arguments),
            ),
        ]

    def _tool_result(self, data: dict[str, Any]) -> list[Event]:
        call_id = str(data["tool_id"])
        name, started = self._calls.pop(call_id, ("", None))
        failed = data.get("status") == "error"
        output = str(data.get("output") or "")
        error = data.get("error")
        if failed and isinstance(error, dict) and error.get("message"):
            # "File not found." as output, the path only in the error's message.
            output = str(error["message"])
        ended = timestamp(data)
        duration = None
        if started is not None and ended is not None:
            duration = max(0.0, (ended - started).total_seconds() * 1000)
        result = ToolResultEvent(
            call_id=call_id,
            name=name,
            output=bounded(output),
            is_error=failed,
            duration_ms=duration,
        )
        return [*self._flush(), result]

    def _error(self, data: dict[str, Any]) -> list[Event]:
        message = str(data.get("message") or "unknown error")
        if data.get("severity") == "warning":
            return [*self._flush(), ErrorEvent(message=f"Gemini CLI warning: {message}")]
        self._last_error = message
        return [*self._flush(), ErrorEvent(message=message)]

    def _result(self, data: dict[str, Any]) -> list[Event]:
        self.ended = True
        events = self._flush()
        stats = data.get("stats") or {}
        if stats:
            events.append(
                UsageEvent(
                    tokens_in=int(stats.get("input_tokens") or 0),
                    tokens_out=int(stats.get("output_tokens") or 0),
                )
            )
        if data.get("status") == "success":
            return events
        self.failed = True
        error = data.get("error")
        message = ""
        if isinstance(error, dict):
            message = api_error_text(str(error.get("message") or ""))
            if message:
                events.append(ErrorEvent(message=message))
        message = message or self._last_error or f"Gemini CLI ended with {data.get('status')!r}"
        self.reason = message[:REASON_LIMIT]
        return events


HANDLERS = {
    "init": GeminiParser._init,
    "message": GeminiParser._message,
    "tool_use": GeminiParser._tool_use,
    "tool_result": GeminiParser._tool_result,
    "error": GeminiParser._error,
    "result": GeminiParser._result,
}


def timestamp(data: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(data["timestamp"]))
    except (KeyError, ValueError):
        return None


def api_error_text(message: str) -> str:
    """`[API Error: {"error": {"code": 400, "message": …}}]` as its message and code."""
    start, end = message.find("{"), message.rfind("}")
    if not message.startswith("[API Error") or start < 0:
        return message
    try:
        error = json.loads(message[start : end + 1])["error"]
        text, code, status = error["message"], error.get("code"), error.get("status")
    except (ValueError, KeyError, TypeError):
        return message
    detail = " ".join(str(part) for part in (code, status) if part)
    return f"Gemini API error: {text}" + (f" ({detail})" if detail else "")
