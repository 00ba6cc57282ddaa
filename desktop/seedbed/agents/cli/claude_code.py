"""Claude Code (`claude`), driven in print mode with its stream-json output.

What a run looks like, checked against the CLI's own `claude --help` (2.1.332) and by
running it against tests/model_server.py:

    claude -p --output-format stream-json --verbose --include-partial-messages
           [--model M] --permission-mode acceptEdits --allowedTools Bash
           [--resume SESSION_ID] [extra args…] -- PROMPT

- `-p` runs one prompt without a terminal and exits; `--output-format stream-json`
  prints one JSON object per line, and the CLI refuses it without `--verbose`;
  `--include-partial-messages` adds the model's streamed deltas (`stream_event`).
- The prompt comes last, after `--`, so that neither a prompt that starts with "-" nor
  a variadic option such as `--allowedTools` can swallow it. A prompt too long for one
  argv string goes on stdin instead (the CLI reads its prompt there when none is given);
  otherwise stdin is closed (DEVNULL): nothing waits for a human.
- Permissions. A background task needs edits and commands to run unasked. The default
  profile uses `--permission-mode acceptEdits --allowedTools Bash`, not
  `bypassPermissions`, because:
  * `bypassPermissions` (= `--dangerously-skip-permissions`) makes the CLI exit at once
    when run as root ("cannot be used with root/sudo privileges"), which is how
    containers and CI run it; its help recommends it "only for sandboxes with no
    internet access".
  * `acceptEdits` approves file edits inside the working directories only, the task's
    worktree: a Write to a path outside it is denied (it shows up in the result's
    `permission_denials`), so the agent cannot edit the user's main checkout.
  * `acceptEdits` alone still asks before most shell commands (it denied
    `python3 -c …` in print mode), so `--allowedTools Bash` allows them; tests and
    builds need them. Web tools stay behind a prompt, i.e. denied in print mode.
  A profile's own `--permission-mode` replaces both flags (its `--extra-arg`s can add
  `--allowedTools`).
- A profile with permission rules (domain/permissions.py) gets
  `--permission-mode default` (or its own) `--permission-prompt-tool
  mcp__seedbed__request_permission` and no blanket Bash: each call the mode does not
  approve (every edit and command but read-only ones such as `ls`, `git status`) is sent
  to Seedbed's tool as `{"tool_name", "input", "tool_use_id"}` (a file's path made
  absolute), answered with one text block `{"behavior": "allow", "updatedInput": {…}}`
  or `{"behavior": "deny", "message": …}` (the message is the call's error result the
  model reads). Not acceptEdits: it approves `rm` and `echo > file` in the worktree
  unasked. Seedbed's rules allow edits inside the worktree, as acceptEdits would.
- Follow-ups resume the CLI's own session with `--resume SESSION_ID` (the id of the
  `system`/`init` line, saved by CliRun). The resumed run keeps that session id and
  sends the earlier turns again: the request carries the `x-claude-code-session-id`
  header of the first run.
- Environment: the key only as ANTHROPIC_API_KEY (put there by CliRuntime when one was
  resolved; in print mode the CLI always uses it), ANTHROPIC_BASE_URL from the profile,
  and `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`, documented (code.claude.com
  env-vars) as the same as DISABLE_AUTOUPDATER, DISABLE_FEEDBACK_COMMAND,
  DISABLE_ERROR_REPORTING and DISABLE_TELEMETRY together; those are set too, so that
  no later change to the umbrella brings back an update mid-run. Without it the CLI
  probes HEAD /api/hello and, even with a local base URL, calls api.anthropic.com
  (bootstrap, fast-mode status, the MCP registry, batches of telemetry events); with it
  a run makes only its model calls, so it works offline. Seedbed never writes the
  user's ~/.claude files: everything is on the command line (the CLI itself keeps its
  session transcripts there, which is what `--resume` reads).

Against a local Anthropic Messages server the CLI makes one streaming
`POST /v1/messages?beta=true` per turn (model `claude-opus-5-5` unless `--model`) and no
other model call: no title or summary call with a small model. A request whose stream
has no `message_start` is retried once without streaming; an HTTP error is retried up
to 10 times with growing delays (printed as `system`/`api_retry` lines), and a server
that never answers is retried too: the profile's idle timeout ends such a run.

Output, one JSON object per line: `system` (`init` first, with the session id; `status`;
`api_retry`), `stream_event` (the raw Messages stream events), `assistant` (one line per
finished content block: text, tool_use, thinking), `user` (tool results), and a final
`result` with the run's usage, total cost, `permission_denials` and `is_error`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from seedbed.agents.base import RunRequest
from seedbed.agents.cli.adapter import CliAdapter, StreamParser
from seedbed.agents.cli.mcp_setup import McpSetup, mcp_dir
from seedbed.agents.process import ProcessSpec
from seedbed.agents.text import bounded, task_message
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
from seedbed.domain.mcp_servers import SEEDBED_SERVER, McpLaunch
from seedbed.domain.models import AgentKind, AgentProfile, RunKind

DEFAULT_PERMISSION_MODE = "acceptEdits"
DEFAULT_ALLOWED_TOOLS = "Bash"
# Seedbed's tool that answers the CLI's permission prompts (a profile with rules).
PROMPT_TOOL = f"mcp__{SEEDBED_SERVER}__request_permission"
# acceptEdits would approve `rm` and `echo > file` in the worktree unasked (2.1.332 does):
# with rules, "default" asks of every edit and command but read-only ones, and Seedbed's
# rules answer (edits inside the worktree allowed, as acceptEdits would).
RULED_PERMISSION_MODE = "default"
# Linux refuses one argv string over 128 KiB (MAX_ARG_STRLEN); longer prompts go on stdin.
ARGV_PROMPT_LIMIT = 100 * 1024
OFFLINE_ENV = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
}
# Characters of a tool result, or of one string argument, that reach the log.
REASON_LIMIT = 500

_decode = json.JSONDecoder().raw_decode
# Thinking is the model's scratch work: known, and not shown.
ASSISTANT_BLOCKS = frozenset({"text", "tool_use", "thinking", "redacted_thinking"})

TOOL_KINDS: dict[str, ToolKind] = {
    "Read": ToolKind.READ,
    "Glob": ToolKind.READ,
    "LS": ToolKind.READ,
    "NotebookRead": ToolKind.READ,
    "Edit": ToolKind.EDIT,
    "Write": ToolKind.EDIT,
    "MultiEdit": ToolKind.EDIT,
    "NotebookEdit": ToolKind.EDIT,
    "Bash": ToolKind.COMMAND,
    "BashOutput": ToolKind.COMMAND,
    "Grep": ToolKind.SEARCH,
    "WebSearch": ToolKind.SEARCH,
}


def config_dir(env: Mapping[str, str]) -> Path:
    given = env.get("CLAUDE_CONFIG_DIR", "")
    return Path(given) if given else Path(env.get("HOME") or Path.home()) / ".claude"


class ClaudeCodeAdapter(CliAdapter):
    kind = AgentKind.CLAUDE_CODE
    label = "Claude Code"
    binary = "claude"
    install_hint = (
        "Install it with `npm install -g @anthropic-ai/claude-code`, "
        "or give the profile its path with --binary."
    )
    key_provider = "anthropic"
    key_env = "ANTHROPIC_API_KEY"
    mcp_client = True
    # The 2.x line: print mode with stream-json partial messages, --permission-mode
    # acceptEdits and --resume as used here; tested with 2.1.332.
    min_version = (2, 0, 0)
    sandbox_logins = (".credentials.json",)
    sandbox_settings = ("settings.json",)

    def sandbox_dirs(self, env: Mapping[str, str]) -> list[Path]:
        """Its config and sessions: CLAUDE_CONFIG_DIR, else ~/.claude (in a sandbox its
        .claude.json goes there too: the home itself is read-only)."""
        return [config_dir(env)]

    def sandbox_env(self, env: Mapping[str, str]) -> dict[str, str]:
        return {"CLAUDE_CONFIG_DIR": str(config_dir(env))}

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
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--include-partial-messages",
        ]
        if profile.model:
            argv += ["--model", profile.model]
        if request.kind in (RunKind.PLAN, RunKind.REVIEW):
            # A planner or reviewer reads: only reading tools are allowed (a reviewer may
            # also run commands, its tests say); edits are refused, not asked about.
            tools = "Read Grep Glob LS" + (" Bash" if request.kind is RunKind.REVIEW else "")
            argv += ["--permission-mode", "default", "--allowedTools", tools]
        elif asks_seedbed(profile, request.kind) and any(
            server.name == SEEDBED_SERVER for server in request.mcp_servers
        ):
            # Seedbed's rules answer: Bash is no longer allowed outright, and what the
            # mode does not approve goes to Seedbed's prompt tool (the servers' tools are
            # allowed with their config, below).
            mode = profile.permission_mode or RULED_PERMISSION_MODE
            argv += ["--permission-mode", mode, "--permission-prompt-tool", PROMPT_TOOL]
        elif profile.permission_mode:
            argv += ["--permission-mode", profile.permission_mode]
        else:
            argv += [
                "--permission-mode",
                DEFAULT_PERMISSION_MODE,
                "--allowedTools",
                DEFAULT_ALLOWED_TOOLS,
            ]
        mcp = self.mcp_config(request, env)
        argv += mcp.argv
        resume = bool(request.follow_up and session_id)
        if resume:
            argv += ["--resume", session_id]
        argv += profile.extra_args
        message = task_message(request, resume)
        stdin: bytes | None = None
        if len(message.encode()) <= ARGV_PROMPT_LIMIT:
            argv += ["--", message]
        else:
            stdin = message.encode()
        run_env = dict(env)
        run_env.update(OFFLINE_ENV)
        if profile.base_url:
            run_env["ANTHROPIC_BASE_URL"] = profile.base_url.rstrip("/")
        return ProcessSpec(
            argv=argv,
            cwd=request.worktree,
            env=run_env,
            stdin=stdin,
            timeout=profile.timeout,
            grace=profile.grace_seconds,
        )

    def mcp_config(
        self, request: RunRequest, env: Mapping[str, str], profile: AgentProfile | None = None
    ) -> McpSetup:
        """`--mcp-config FILE`: the servers as JSON (the shape of a .mcp.json file) in a
        file of the run's own, readable by the user only (on the command line, a token
        in a variable or a header would be in /proc for every user to read); and their
        tools allowed (`mcp__NAME`: every tool of the server), which print mode would
        otherwise deny unasked."""
        servers = request.mcp_servers
        if not servers:
            return McpSetup()
        path = mcp_dir(request) / "claude-mcp.json"
        config = {"mcpServers": {server.name: claude_server(server) for server in servers}}
        allowed = " ".join(f"mcp__{server.name}" for server in servers)
        return McpSetup(
            argv=["--mcp-config", str(path), "--allowedTools", allowed],
            files={path: json.dumps(config, indent=2)},
        )

    def parser(self) -> ClaudeCodeParser:
        return ClaudeCodeParser()


def claude_server(server: McpLaunch) -> dict[str, object]:
    if server.stdio:
        return {"type": "stdio", "command": server.command, "args": server.args, "env": server.env}
    return {"type": "http", "url": server.url, "headers": server.headers}


def asks_seedbed(profile: AgentProfile, kind: RunKind) -> bool:
    """Whether a run of `profile` sends its permission prompts to Seedbed's
    request_permission: Claude Code with permission rules, on a run that may act (a
    planner or reviewer only reads)."""
    acting = kind not in (RunKind.PLAN, RunKind.REVIEW)
    return profile.kind is AgentKind.CLAUDE_CODE and bool(profile.permission_rules) and acting


def one_line(text: str, limit: int = REASON_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ClaudeCodeParser(StreamParser):
    """Claude Code's stream-json lines to events.

    Streamed text deltas become TextEvent(delta=True); each finished assistant block
    becomes the whole TextEvent or a ToolCallEvent; tool results, retries, usage, the
    final result and its permission denials follow. What it does not know is a RawEvent.
    Most lines are stream events that say nothing new (block starts and stops, tool
    input pieces): they are recognised and yield nothing, as cheaply as possible.
    """

    result_event = "result"

    def __init__(self) -> None:
        # Calls waiting for their result: call id → tool name, what it works on.
        self._tools: dict[str, tuple[str, str]] = {}
        self._model = ""
        self._context_tokens = 0
        self._denied: set[str] = set()
        self._handlers = {
            "stream_event": self._stream_event,
            "assistant": self._assistant,
            "user": self._user,
            "system": self._system,
            "result": self._result,
        }

    def feed(self, line: str) -> list[Event]:
        try:
            # raw_decode skips json.loads' whitespace handling: a third faster on lines
            # that, as the CLI prints them, start with "{" and end with "}".
            data, end = _decode(line)
            if end != len(line) and not line[end:].isspace():
                return [RawEvent(line=line)]
        except ValueError:
            try:
                data = json.loads(line)
            except ValueError:
                return [RawEvent(line=line)] if line.strip() else []
        try:
            handler = self._handlers.get(data.get("type"))
            if handler is not None:
                events = handler(data)
                if events is not None:
                    return events
        except (AttributeError, TypeError, KeyError, ValueError):
            pass  # a shape we do not know: kept whole below
        return [RawEvent(line=line)]

    # Each handler returns its events, or None for a line it does not understand.

    def _stream_event(self, data: dict[str, Any]) -> list[Event] | None:
        event = data["event"]
        if event["type"] == "content_block_delta":
            delta = event["delta"]
            if delta["type"] == "text_delta":
                return [TextEvent(text=delta["text"], delta=True)]
        return []

    def _assistant(self, data: dict[str, Any]) -> list[Event] | None:
        message = data["message"]
        blocks = message["content"]
        if data.get("error") or data.get("is_api_error_message"):
            # The CLI's own text about a failed model call, not the model's answer.
            text = " ".join(b.get("text", "") for b in blocks if b.get("type") == "text")
            return [ErrorEvent(message=one_line(text) or f"model call failed: {data.get('error')}")]
        if data.get("parent_tool_use_id") is None:
            usage = message.get("usage")
            if usage:
                self._context_tokens = (
                    (usage.get("input_tokens") or 0)
                    + (usage.get("cache_creation_input_tokens") or 0)
                    + (usage.get("cache_read_input_tokens") or 0)
                )
                self._model = message.get("model") or self._model
        if any(block["type"] not in ASSISTANT_BLOCKS for block in blocks):
            return None
        events: list[Event] = []
        for block in blocks:
            kind = block["type"]
            if kind == "text":
                if block["text"]:
                    events.append(TextEvent(text=block["text"]))
            elif kind == "tool_use":
                name = block["name"]
                call_id = block.get("id", "")
                tool_input = block.get("input")
                self._tools[call_id] = (name, subject(tool_input))
                events.append(
                    ToolCallEvent(
                        call_id=call_id,
                        name=name,
                        tool_kind=TOOL_KINDS.get(name, ToolKind.OTHER),
                        arguments=loggable(tool_input),
                    )
                )
        return events

    def _user(self, data: dict[str, Any]) -> list[Event] | None:
        content = data["message"]["content"]
        if not isinstance(content, list) or any(b["type"] != "tool_result" for b in content):
            return None
        events: list[Event] = []
        for block in content:
            call_id = block.get("tool_use_id", "")
            events.append(
                ToolResultEvent(
                    call_id=call_id,
                    name=self._tools.pop(call_id, ("", ""))[0],
                    output=bounded(result_text(block.get("content"))),
                    is_error=bool(block.get("is_error")),
                )
            )
        return events

    def _system(self, data: dict[str, Any]) -> list[Event] | None:
        subtype = data.get("subtype")
        if subtype == "init":
            self.session_id = str(data.get("session_id") or self.session_id)
            version = data.get("claude_code_version", "")
            message = (
                f"Claude Code {version} started: model {data.get('model', '?')}, "
                f"permission mode {data.get('permissionMode', '?')}, "
                f"session {self.session_id}"
            )
            return [StatusEvent(phase="starting", message=message)]
        if subtype == "api_retry":
            error = " ".join(
                str(part) for part in (data.get("error_status"), data.get("error")) if part
            )
            delay = (data.get("retry_delay_ms") or 0) / 1000
            message = (
                f"model call failed ({error or 'unknown error'}); retry "
                f"{data.get('attempt', '?')} of {data.get('max_retries', '?')} in {delay:.1f} s"
            )
            return [StatusEvent(phase="retrying", message=message)]
        if subtype == "status" and data.get("status"):
            return [StatusEvent(phase="status", message=str(data["status"]))]
        if subtype == "permission_denied":
            call_id = str(data.get("tool_use_id", ""))
            self._denied.add(call_id)
            name, what = self._tools.get(call_id, (str(data.get("tool_name")), ""))
            why = data.get("decision_reason") or data.get("message") or ""
            return [ErrorEvent(message=denial_text(name, what, str(why)))]
        if subtype == "compact_boundary":
            metadata = data.get("compact_metadata") or {}
            tokens = metadata.get("pre_tokens")
            before = f" (it held {tokens} tokens)" if tokens else ""
            return [StatusEvent(phase="context", message=f"context compacted{before}")]
        return None

    def _result(self, data: dict[str, Any]) -> list[Event] | None:
        self.ended = True
        self.session_id = str(data.get("session_id") or self.session_id)
        usage = data.get("usage") or {}
        tokens_in = (
            (usage.get("input_tokens") or 0)
            + (usage.get("cache_creation_input_tokens") or 0)
            + (usage.get("cache_read_input_tokens") or 0)
        )
        tokens_out = usage.get("output_tokens") or 0
        cost = float(data.get("total_cost_usd") or 0.0)
        events: list[Event] = []
        if tokens_in or tokens_out or cost:
            fill = self._context_fill(data.get("modelUsage"))
            events.append(
                UsageEvent(
                    tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost, context_fill=fill
                )
            )
        for denial in data.get("permission_denials") or ():
            # Those reported as they happened (a `permission_denied` line) are not repeated.
            if isinstance(denial, dict) and denial.get("tool_use_id") not in self._denied:
                name = str(denial.get("tool_name") or "a tool")
                events.append(
                    ErrorEvent(message=denial_text(name, subject(denial.get("tool_input"))))
                )
        subtype = str(data.get("subtype", ""))
        text = data.get("result")
        seconds = (data.get("duration_ms") or 0) / 1000
        turns = data.get("num_turns") or 0
        if data.get("is_error") or subtype.startswith("error"):
            self.failed = True
            said = one_line(text) if isinstance(text, str) and text.strip() else subtype
            self.reason = f"Claude Code failed: {said}"
            message = f"Claude Code failed after {turns} turn(s), {seconds:.1f} s"
        else:
            message = f"Claude Code finished: {turns} turn(s), {seconds:.1f} s"
        events.append(StatusEvent(phase="finished", message=message))
        return events

    def _context_fill(self, model_usage: Any) -> float:
        """How full the context of the last main-agent call was, if the CLI says how
        big the window of its model is."""
        if not isinstance(model_usage, dict) or not self._context_tokens:
            return 0.0
        entry = model_usage.get(self._model)
        if not isinstance(entry, dict) and len(model_usage) == 1:
            entry = next(iter(model_usage.values()))
        window = entry.get("contextWindow") if isinstance(entry, dict) else None
        if not isinstance(window, int | float) or not window:
            return 0.0
        return min(1.0, self._context_tokens / window)


def loggable(arguments: Any) -> dict[str, object]:
    """A tool's input for the log: long strings (a whole file to write) cut."""
    if not isinstance(arguments, dict):
        return {} if arguments is None else {"_raw": bounded(json.dumps(arguments))}
    return {k: bounded(v) if isinstance(v, str) else v for k, v in arguments.items()}


def result_text(content: Any) -> str:
    """A tool result's content: a string, or blocks of which the text ones count."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                kind = block.get("type")
                parts.append(block.get("text", "") if kind == "text" else f"[{kind}]")
        return "\n".join(parts)
    return "" if content is None else json.dumps(content)


def subject(tool_input: Any) -> str:
    """What a tool call works on, in a few words: its command, file or address."""
    if not isinstance(tool_input, dict):
        return ""
    detail = tool_input.get("command") or tool_input.get("file_path") or tool_input.get("url")
    return one_line(str(detail), 200) if detail else ""


def denial_text(name: str, what: str, why: str = "") -> str:
    """One line for a tool call the permission mode refused: which tool, on what, why."""
    on = f" {what}" if what else ""
    because = f" ({one_line(why, 200)})" if why else ""
    return f"permission denied: {name}{on}{because}"
