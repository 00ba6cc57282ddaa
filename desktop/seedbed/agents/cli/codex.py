"""Codex, OpenAI's coding-agent CLI: `codex exec --json`, its events, `exec resume`.

The command line (every flag checked against `codex exec --help` and
`codex exec resume --help` of 0.171.0, and against `codex-rs/exec/src/lib.rs`):

    codex exec --json --color never --skip-git-repo-check SANDBOX [--model M]
        [-c model_provider="seedbed" -c model_providers.seedbed={…}] --cd WORKTREE
        [EXTRA…] [resume SESSION] -- PROMPT

- `exec --json`: no terminal UI, one JSON event per line on stdout (everything else goes
  to stderr). `--color never` keeps escape codes out of the stderr lines we log.
- Stdin is closed (or carries a prompt too long for one argument, given as `-`): exec
  reads a piped stdin to its end before it starts, so an open one would hang the run.
- `--skip-git-repo-check`: a worktree is always a git checkout; the check only guards
  people from running Codex in a random directory, and a false alarm would fail the run.
- The sandbox is the profile's `permission_mode`. The default, `workspace-write`, lets a
  background run edit the worktree and run commands (tests, builds) while writes outside
  it and the network stay blocked; the engine commits, so the agent needs no write access
  to the repository's `.git`. `read-only` suits planners and reviewers,
  `danger-full-access` drops the sandbox (a host where it cannot work, or commands that
  need the network), and `bypass` passes `--dangerously-bypass-approvals-and-sandbox`
  for a machine that is itself a sandbox. No approval flag is needed: exec never asks
  for approval (it sets `AskForApproval::Never` for headless runs), so nothing waits for
  a human. With a `bwrap` on its PATH Codex's sandbox needs a helper it will not set up
  when its home is under the temporary directory: such a run is refused before it
  starts, with the reason (codex_sandbox.py). In Seedbed's sandbox Codex's own is off
  (`workspace-write` becomes `danger-full-access`: ours does its job) but for
  `read-only`, which nests in ours (docs/decisions.md); without the full network its
  usage metrics are off (`-c analytics.enabled=false`), as they could not get out.
- A profile's base URL becomes a model provider of our own, given only as `-c`
  overrides (the user's `~/.codex/config.toml` is never touched): Codex speaks only the
  Responses API (`wire_api = "responses"`) and ignores OPENAI_BASE_URL. The key reaches
  it as OPENAI_API_KEY (`env_key`); a server on this machine with no key gets no
  `env_key`, so Codex sends no key rather than failing for want of one. Without a base
  URL the user's own provider and login are used as they are.
- Follow-up: `exec resume SESSION` continues the thread that `thread.started` named.
  Options go before `resume` (exec's own, which it applies to the resumed thread too;
  `resume` itself has no `--sandbox` or `--cd`), and `--` before the prompt, so that a
  prompt that reads "resume" or starts with "-" stays a prompt.

CODEX_HOME stays where the user has it: Codex keeps its sessions (needed to resume),
logs and caches there, as it does when the user runs it, and the user's login lives
there too; in Seedbed's sandbox, which hides the home, it is bound writable. Tests give
Codex a temporary HOME instead, and a TMPDIR that HOME is not in (a user's home is not in
/tmp), or with bubblewrap installed its sandbox cannot start. `prepare` is pure but for
one look at the disk: whether there is a `bwrap` on the PATH Codex gets.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from seedbed.agents.base import RunRequest
from seedbed.agents.cli.adapter import CliAdapter, StreamParser
from seedbed.agents.cli.codex_sandbox import codex_home, sandbox_problem
from seedbed.agents.cli.mcp_setup import McpSetup
from seedbed.agents.process import ProcessSpec
from seedbed.agents.urls import is_local
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
from seedbed.domain.models import AgentKind, AgentProfile, RunKind, SandboxNetwork

PROVIDER = "seedbed"
DEFAULT_SANDBOX = "workspace-write"
SANDBOXES = ("workspace-write", "read-only", "danger-full-access")
BYPASS = "bypass"
# Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN); longer prompts go on
# stdin, which Codex reads when the prompt is "-".
ARG_LIMIT = 100 * 1024
# A command's output is kept whole up to this many characters, else its head and tail.
OUTPUT_CAP = 32 * 1024
SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
RETRY_NOTICE = re.compile(r"Reconnecting\.\.\. \d+/\d+")
STARTUP_TIMEOUT_S = 30  # seconds an MCP server has to start and list its tools


class CodexAdapter(CliAdapter):
    kind = AgentKind.CODEX
    label = "Codex"
    binary = "codex"
    install_hint = "Install it with `npm install -g @openai/codex`."
    key_provider = "openai"
    key_env = "OPENAI_API_KEY"
    mcp_client = True
    # The thread/turn/item events of `exec --json` (each item with a `type`) and `exec
    # resume`: 0.47 is the oldest release known to print these; 0.171 is the one tested.
    min_version = (0, 47, 0)
    sandbox_logins = ("auth.json",)
    sandbox_settings = ("config.toml",)

    def sandbox_dirs(self, env: Mapping[str, str]) -> list[Path]:
        """Its home (CODEX_HOME, else ~/.codex): its login, config, sessions and logs."""
        home = codex_home(env)
        return [home] if home is not None else []

    def sandbox_env(self, env: Mapping[str, str]) -> dict[str, str]:
        home = codex_home(env)
        return {"CODEX_HOME": str(home)} if home is not None else {}

    def sandbox_read_only(self, profile: AgentProfile, request: RunRequest) -> bool:
        """A planner, a reviewer, or a read-only profile: its worktree read-only in ours."""
        judging = request.kind in (RunKind.PLAN, RunKind.REVIEW)
        return judging or profile.permission_mode == "read-only"

    def prepare(
        self,
        profile: AgentProfile,
        request: RunRequest,
        binary: str,
        env: dict[str, str],
        session_id: str,
    ) -> ProcessSpec:
        resume = session_id if SESSION_ID.fullmatch(session_id) else ""
        message = request.prompt
        if request.follow_up:
            # Without a session to resume, a fresh one needs the task as well.
            message = request.follow_up if resume else f"{request.prompt}\n\n{request.follow_up}"
        argv = [binary, "exec", "--json", "--color", "never", "--skip-git-repo-check"]
        # A planner or reviewer reads: Codex's read-only sandbox, whatever the profile says.
        judging = request.kind in (RunKind.PLAN, RunKind.REVIEW)
        sandbox = ["--sandbox", "read-only"] if judging else sandbox_args(profile.permission_mode)
        seen = env
        if request.sandbox is not None:
            # In Seedbed's sandbox, which does what workspace-write would (and read-only:
            # the worktree bound read-only, sandbox_read_only), Codex's own is off: nested,
            # it cannot map its user where Seedbed dropped every capability (as root).
            seen = {**env, **request.sandbox.env}
            if sandbox[-1] in ("workspace-write", "read-only"):
                sandbox = ["--sandbox", "danger-full-access"]
        if sandbox[-1] in ("read-only", "workspace-write") and (problem := sandbox_problem(seen)):
            raise UserError(problem)
        argv += sandbox
        if profile.model:
            argv += ["--model", profile.model]
        if profile.base_url:
            with_key = self.key_env in env or not is_local(profile.base_url)
            argv += provider_args(profile.base_url, self.key_env if with_key else "")
        if request.sandbox is not None and request.sandbox.network is not SandboxNetwork.FULL:
            # Its usage metrics (ab.chatgpt.com) could not get out: not even tried.
            argv += ["-c", "analytics.enabled=false"]
        mcp = self.mcp_config(request, env)
        argv += mcp.argv
        argv += ["--cd", str(request.worktree), *profile.extra_args]
        if resume:
            argv += ["resume", resume]
        stdin = None
        if len(message.encode()) > ARG_LIMIT or "\0" in message:
            argv += ["--", "-"]
            stdin = message.encode()
        else:
            argv += ["--", message]
        return ProcessSpec(argv=argv, cwd=request.worktree, env={**env, **mcp.env}, stdin=stdin)

    def mcp_config(
        self, request: RunRequest, env: Mapping[str, str], profile: AgentProfile | None = None
    ) -> McpSetup:
        """`-c mcp_servers.NAME.…` overrides, one per key, each value TOML: the user's
        config.toml is neither read for them nor written. Their tools are approved
        (`default_tools_approval_mode`): in its sandbox, `exec` otherwise refuses each
        call ("requires approval, but approval policy is never"). An HTTP server's
        headers (tokens, most often) go in variables (`env_http_headers`), not on the
        command line that every user can read; their names end in TOKEN, which Codex's
        shell keeps from the commands it runs. A stdio server's variables go by name
        (`env_vars`), their values in Codex's environment, which it passes on."""
        argv: list[str] = []
        variables: dict[str, str] = {}
        tokens = 0
        for server in request.mcp_servers:
            fields: dict[str, str] = {
                "default_tools_approval_mode": toml_string("approve"),
                # Codex's default, 10 s, is short for a server that loads a runtime
                # (npx, Python's SDK) on a busy machine: its tools went missing.
                "startup_timeout_sec": str(STARTUP_TIMEOUT_S),
            }
            if server.stdio:
                fields["command"] = toml_string(server.command)
                fields["args"] = "[" + ", ".join(map(toml_string, server.args)) + "]"
                if server.env:
                    # By name (`env_vars`: Codex passes them on from its own environment),
                    # never their values on the command line every user can read.
                    variables.update(server.env)
                    fields["env_vars"] = "[" + ", ".join(map(toml_string, server.env)) + "]"
            else:
                fields["url"] = toml_string(server.url)
                headers = {}
                for header, value in server.headers.items():
                    tokens += 1
                    variable = f"SEEDBED_MCP_{tokens}_TOKEN"
                    variables[variable] = value
                    headers[header] = variable
                if headers:
                    fields["env_http_headers"] = toml_table(headers)
            if server.call_timeout_s is not None:  # Codex's default: 60 s a call
                fields["tool_timeout_sec"] = str(server.call_timeout_s)
            for key, value in fields.items():
                argv += ["-c", f"mcp_servers.{server.name}.{key}={value}"]
        return McpSetup(argv=argv, env=variables)

    def parser(self) -> CodexParser:
        return CodexParser()


def sandbox_args(permission_mode: str) -> list[str]:
    """The profile's permission mode as Codex's sandbox flags."""
    mode = permission_mode or DEFAULT_SANDBOX
    if mode == BYPASS:
        return ["--dangerously-bypass-approvals-and-sandbox"]
    if mode not in SANDBOXES:
        known = ", ".join((*SANDBOXES, BYPASS))
        raise UserError(f"Codex has no permission mode {mode!r}; use one of: {known}")
    return ["--sandbox", mode]


def provider_args(base_url: str, key_env: str) -> list[str]:
    """`-c` overrides that make a provider of our own, at `base_url`, the one used."""
    fields = {"name": "Seedbed", "base_url": base_url, "wire_api": "responses"}
    if key_env:
        fields["env_key"] = key_env
    table = ", ".join(f"{name} = {toml_string(value)}" for name, value in fields.items())
    return [
        "-c",
        f"model_provider={toml_string(PROVIDER)}",
        "-c",
        f"model_providers.{PROVIDER}={{ {table} }}",
    ]


def toml_table(values: dict[str, str]) -> str:
    """`values` as a TOML inline table of strings."""
    return "{" + ", ".join(f"{toml_string(k)} = {toml_string(v)}" for k, v in values.items()) + "}"


def toml_string(text: str) -> str:
    """`text` as a TOML basic string (Codex parses each `-c` value as TOML)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def bounded(text: str, cap: int = OUTPUT_CAP) -> str:
    """`text`, or its head and tail with what was cut said in between."""
    if len(text) <= cap:
        return text
    half = cap // 2
    return f"{text[:half]}\n… [{len(text) - 2 * half} characters cut] …\n{text[-half:]}"


Handler = Callable[["CodexParser", dict[str, object]], list[Event] | None]
ItemHandler = Callable[["CodexParser", dict[str, object], str], list[Event] | None]


class CodexParser(StreamParser):
    """The lines of `codex exec --json` as events.

    A handler returns None for a line it does not understand, which is kept as a
    RawEvent. Codex reports the thread's token totals at the end of each turn; a resumed
    thread's totals include the earlier runs, so `restore` takes what the last run saw
    (`saved`) and only the difference is this run's usage.
    """

    result_event = "turn.completed"

    def __init__(self) -> None:
        self.session_id = ""
        self.failed = False
        self.reason = ""
        self._started: dict[str, float] = {}  # item id → when its call was reported
        self._totals = (0, 0)  # the thread's, as last reported

    def saved(self) -> dict[str, object]:
        """What the parser of the next follow-up needs: the thread's token totals."""
        tokens_in, tokens_out = self._totals
        return {"tokens_in": tokens_in, "tokens_out": tokens_out}

    def restore(self, saved: dict[str, object]) -> None:
        """Carry on from what the previous run's parser `saved`."""
        tokens_in, tokens_out = saved.get("tokens_in"), saved.get("tokens_out")
        if isinstance(tokens_in, int) and isinstance(tokens_out, int):
            self._totals = (tokens_in, tokens_out)

    def feed(self, line: str) -> list[Event]:
        if not line.strip():
            return []
        try:
            data = json.loads(line)
        except ValueError:
            return [RawEvent(line=line)]
        if not isinstance(data, dict):
            return [RawEvent(line=line)]
        handler = EVENTS.get(str(data.get("type")))
        events = handler(self, data) if handler is not None else None
        return [RawEvent(line=line)] if events is None else events

    def _thread_started(self, data: dict[str, object]) -> list[Event] | None:
        thread_id = data.get("thread_id")
        if not isinstance(thread_id, str) or not thread_id:
            return None
        self.session_id = thread_id
        return [StatusEvent(phase="session", message=f"Codex session {thread_id}")]

    def _turn_completed(self, data: dict[str, object]) -> list[Event] | None:
        self.ended = True
        usage = data.get("usage")
        if not isinstance(usage, dict):
            return []
        totals = (int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))
        last, self._totals = self._totals, totals
        if totals[0] < last[0] or totals[1] < last[1]:
            last = (0, 0)  # not the thread the saved totals were for: all of it is new
        return [UsageEvent(tokens_in=totals[0] - last[0], tokens_out=totals[1] - last[1])]

    def _turn_failed(self, data: dict[str, object]) -> list[Event] | None:
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        self.failed = True
        self.reason = str(message or "Codex reported a failed turn")
        return [ErrorEvent(message=self.reason)]

    def _error(self, data: dict[str, object]) -> list[Event] | None:
        message = data.get("message")
        if not isinstance(message, str):
            return None
        if RETRY_NOTICE.match(message):
            return [StatusEvent(phase="retrying", message=message)]
        return [ErrorEvent(message=message)]

    def _plan_delta(self, data: dict[str, object]) -> list[Event] | None:
        delta = data.get("delta")
        return [TextEvent(text=delta, delta=True)] if isinstance(delta, str) else None

    def _item(self, data: dict[str, object]) -> list[Event] | None:
        item = data.get("item")
        if not isinstance(item, dict):
            return None
        handler = ITEMS.get(str(item.get("type") or item.get("item_type")))
        if handler is None:
            return None
        stage = str(data["type"]).removeprefix("item.")
        return handler(self, item, stage)

    def _message(self, item: dict[str, object], stage: str) -> list[Event] | None:
        text = item.get("text")
        if not isinstance(text, str):
            return None
        return [TextEvent(text=text)] if stage == "completed" else []

    def _reasoning(self, item: dict[str, object], stage: str) -> list[Event] | None:
        text = item.get("text")
        if not isinstance(text, str):
            return None
        if stage != "completed" or not text.strip():
            return []
        return [StatusEvent(phase="reasoning", message=text)]

    def _todo_list(self, item: dict[str, object], stage: str) -> list[Event] | None:
        steps = item.get("items")
        if not isinstance(steps, list):
            return None
        if stage == "completed":
            return []
        lines = [
            f"[{'x' if step.get('completed') else ' '}] {step.get('text', '')}"
            for step in steps
            if isinstance(step, dict)
        ]
        return [StatusEvent(phase="plan", message="\n".join(lines))]

    def _problem(self, item: dict[str, object], stage: str) -> list[Event] | None:
        message = item.get("message")
        return [ErrorEvent(message=message)] if isinstance(message, str) else None

    def _command(self, item: dict[str, object], stage: str) -> list[Event] | None:
        command = item.get("command")
        if not isinstance(command, str):
            return None
        call = ToolCallEvent(
            call_id=str(item.get("id", "")),
            name="command",
            tool_kind=ToolKind.COMMAND,
            arguments={"command": command},
        )
        code = item.get("exit_code")
        status = item.get("status")
        failed = status in ("failed", "declined") or (isinstance(code, int) and code != 0)
        output = bounded(str(item.get("aggregated_output") or ""))
        if status == "declined" and not output:
            output = "declined"
        return self._tool(call, stage, output, failed)

    def _file_change(self, item: dict[str, object], stage: str) -> list[Event] | None:
        changes = item.get("changes")
        if not isinstance(changes, list):
            return None
        listed = [
            {"path": str(change.get("path", "")), "kind": str(change.get("kind", ""))}
            for change in changes
            if isinstance(change, dict)
        ]
        call = ToolCallEvent(
            call_id=str(item.get("id", "")),
            name="apply_patch",
            tool_kind=ToolKind.EDIT,
            arguments={"changes": listed},
        )
        output = "\n".join(f"{change['kind']} {change['path']}" for change in listed)
        return self._tool(call, stage, output, item.get("status") == "failed")

    def _mcp_call(self, item: dict[str, object], stage: str) -> list[Event] | None:
        server, tool = item.get("server"), item.get("tool")
        if not isinstance(server, str) or not isinstance(tool, str):
            return None
        arguments = item.get("arguments")
        call = ToolCallEvent(
            call_id=str(item.get("id", "")),
            name=f"{server}.{tool}",
            tool_kind=ToolKind.OTHER,
            arguments=arguments if isinstance(arguments, dict) else {},
        )
        error = item.get("error")
        result = item.get("result")
        if isinstance(error, dict):
            output = str(error.get("message", ""))
        elif isinstance(result, dict):
            output = mcp_text(result)
        else:
            output = ""
        failed = item.get("status") == "failed" or isinstance(error, dict)
        return self._tool(call, stage, bounded(output), failed)

    def _web_search(self, item: dict[str, object], stage: str) -> list[Event] | None:
        query = item.get("query")
        if not isinstance(query, str):
            return None
        call = ToolCallEvent(
            call_id=str(item.get("id", "")),
            name="web_search",
            tool_kind=ToolKind.SEARCH,
            arguments={"query": query},
        )
        return self._tool(call, stage, "", False)

    def _tool(self, call: ToolCallEvent, stage: str, output: str, failed: bool) -> list[Event]:
        """The call when the item starts; its result (and the call, if its start was not
        seen) when it completes."""
        if stage == "started":
            if call.call_id in self._started:
                return []
            self._started[call.call_id] = time.monotonic()
            return [call]
        if stage != "completed":
            return []
        events: list[Event] = []
        started = self._started.pop(call.call_id, None)
        if started is None:
            events.append(call)
        duration = (time.monotonic() - started) * 1000 if started is not None else None
        events.append(
            ToolResultEvent(
                call_id=call.call_id,
                name=call.name,
                output=output,
                is_error=failed,
                duration_ms=duration,
            )
        )
        return events


def mcp_text(result: dict[str, object]) -> str:
    """The text blocks of an MCP tool result, else its JSON."""
    content = result.get("content")
    if isinstance(content, list):
        texts = [
            str(block.get("text", ""))
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        ]
        if texts:
            return "\n".join(texts)
    return json.dumps(result, ensure_ascii=False)


EVENTS: dict[str, Handler] = {
    "thread.started": CodexParser._thread_started,
    "turn.started": lambda parser, data: [],
    "turn.completed": CodexParser._turn_completed,
    "turn.failed": CodexParser._turn_failed,
    "error": CodexParser._error,
    "item.started": CodexParser._item,
    "item.updated": CodexParser._item,
    "item.completed": CodexParser._item,
    "item.plan.delta": CodexParser._plan_delta,
}

ITEMS: dict[str, ItemHandler] = {
    "agent_message": CodexParser._message,
    "assistant_message": CodexParser._message,  # its name in the first releases
    "plan": CodexParser._message,
    "reasoning": CodexParser._reasoning,
    "command_execution": CodexParser._command,
    "file_change": CodexParser._file_change,
    "mcp_tool_call": CodexParser._mcp_call,
    "web_search": CodexParser._web_search,
    "todo_list": CodexParser._todo_list,
    "error": CodexParser._problem,
}
