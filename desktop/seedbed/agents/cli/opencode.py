"""OpenCode (`opencode`), driven by `opencode run` with its JSON event output.

What a run looks like, checked against `opencode run --help` of 1.18.33, OpenCode's docs
(config, permissions, environment variables) and by running it against
tests/model_server.py:

    opencode run --format json [--model PROVIDER/MODEL] --auto
                 (--title TITLE | --session SESSION_ID) [extra args…]   (message on stdin)

- The message goes on stdin: `opencode run` reads stdin when it is not a terminal, and
  takes it as it is, whereas message arguments are joined and each one that holds a
  space is wrapped in double quotes first (a prompt `fix it` reaches the model as
  `"fix it"`). No argv length limit either.
- `--format json` prints one JSON object per line, each with the `sessionID`:
  `step_start`, `text` (a finished text part; no deltas), `tool_use` (a finished tool
  call: input, output or error, start and end), `step_finish` (tokens and cost of one
  model call; its `reason` is "tool-calls" when another call follows, "stop" for the
  last), `reasoning` (only with `--thinking`) and `error` (a session error).
- Permissions. `opencode run` rejects every permission request it would ask a human
  about (it prints "permission requested: … auto-rejecting" on stderr), so a background
  task needs `--auto`: "auto-approve permissions that are not explicitly denied"; the
  user's own `deny` rules still hold (docs: permissions, auto mode). A profile with
  `--permission-mode config` runs without it: the user's permission config as it is,
  its asks rejected. A profile's permission rules about Bash join the inline config's
  `permission.bash` (domain/permissions.py `shell_permissions`: allows, then denies, as
  OpenCode's last matching pattern answers; `ask` a deny), over the user's own.
- `--title` names a new session after the task; without it OpenCode asks the model for a
  title first (one more model call, racing the first turn). Follow-ups continue the
  session with `--session SESSION_ID` (the `sessionID` of the last run's lines).
- The directory OpenCode works in is `$PWD` (falling back to the process's cwd), not the
  cwd alone: with a stale PWD inherited from Seedbed it would edit Seedbed's own
  directory. PWD is set to the worktree.
- A profile's base URL becomes a provider in OPENCODE_CONFIG_CONTENT (inline config,
  applied over the user's config files, which are never written): for `anthropic/…`
  the Anthropic Messages API at that URL (plus "/v1", as Seedbed's Anthropic URLs are
  written without it); for any other provider an OpenAI-compatible (Chat Completions)
  server, which is what local servers speak. The model is declared there, so OpenCode
  need not fetch its model catalog (OPENCODE_DISABLE_MODELS_FETCH). An inherited
  OPENCODE_CONFIG_CONTENT is kept and extended.
- Keys: OpenCode reads each provider's key from its own variable (ANTHROPIC_API_KEY,
  OPENAI_API_KEY, GEMINI_API_KEY for google, PROVIDER_API_KEY for most others), so the
  key a profile needs follows its model's provider: `key_source`. (CliRuntime and
  agents/keys.py still use the class's key_provider/key_env, Anthropic's, until they
  ask key_source.) An OpenAI-compatible provider declared here reads that variable
  through `{env:…}`, so the key never enters the inline config.
- Offline: OPENCODE_DISABLE_AUTOUPDATE (no update check or download mid-run) and
  OPENCODE_DISABLE_LSP_DOWNLOAD (language servers a user enabled are used if installed,
  never downloaded mid-run). Against a local server a run then makes only its model
  calls, apart from what 1.18.33 does at every start with no switch to stop it: an npm
  install of its plugin SDK (@opencode-ai/plugin) into its own config directory, in the
  background: the run does not wait for it (offline it never completes).
- In a sandbox (the home hidden and read-only): its data (sessions, database, snapshot
  repository, logs), config (where that plugin SDK goes) and state directories are
  bound writable (`sandbox_dirs`); its cache (models catalog, provider packages it
  installs) is the sandbox's private XDG_CACHE_HOME. With network `model` the plugin
  SDK's install is refused by the proxy (said once in the run's log: registry.npmjs.org)
  and the run goes on without it; a provider whose SDK OpenCode does not bundle, which
  it would install from npm at first use, cannot be installed there.

A model call that fails with a 5xx is retried with growing delays and without a word on
stdout, and so is a server that never answers: the profile's idle timeout ends such a
run. A 4xx ends it with an `error` line and exit code 1. Nothing reaches stdout before the
model's first answer, and only stdout counts against the idle timeout: start-up to the
first model call takes about 3 s, 6 to 10 s in a fresh HOME on a busy machine (its first
run installs the plugin SDK, migrates its database, sets up its snapshot repository), so
an idle timeout must be well above that.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from seedbed import secrets
from seedbed.agents.base import RunRequest
from seedbed.agents.cli.adapter import CliAdapter, StreamParser
from seedbed.agents.cli.mcp_setup import McpSetup
from seedbed.agents.process import ProcessSpec
from seedbed.agents.text import bounded, bounded_arguments, task_message
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
from seedbed.domain.mcp_servers import McpLaunch
from seedbed.domain.models import AgentKind, AgentProfile
from seedbed.domain.permissions import shell_permissions

PERMISSION_MODES = ("auto", "config")
OPENAI_COMPATIBLE = "@ai-sdk/openai-compatible"
CONFIG_CONTENT = "OPENCODE_CONFIG_CONTENT"
OFFLINE_ENV = {
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
}
# keyring entry and variable for providers whose variable is not PROVIDER_API_KEY, or
# whose key Seedbed already knows under another name.
KEY_SOURCES: dict[str, tuple[str, str]] = {
    "anthropic": ("anthropic", "ANTHROPIC_API_KEY"),
    "openai": ("openai", "OPENAI_API_KEY"),
    "google": ("gemini", "GEMINI_API_KEY"),
}
# A step_finish `reason` after which `opencode run` calls the model again (its loop's own
# test, read in 1.18.33); the last step of a run ends with another ("stop", "length"…).
CONTINUING_REASONS = ("tool-calls", "unknown")
# Characters of a tool result, or of one string argument, that reach the log.
REASON_LIMIT = 500
# How a tool call's error says it was not allowed: asked and rejected (no --auto), or
# refused by a `deny` rule of the user's config (which --auto keeps).
DENIALS = ("rejected permission", "rule which prevents you from using")

TOOL_KINDS: dict[str, ToolKind] = {
    "read": ToolKind.READ,
    "list": ToolKind.READ,
    "glob": ToolKind.READ,
    "write": ToolKind.EDIT,
    "edit": ToolKind.EDIT,
    "multiedit": ToolKind.EDIT,
    "patch": ToolKind.EDIT,
    "apply_patch": ToolKind.EDIT,
    "bash": ToolKind.COMMAND,
    "grep": ToolKind.SEARCH,
    "websearch": ToolKind.SEARCH,
    "codesearch": ToolKind.SEARCH,
}


class OpenCodeAdapter(CliAdapter):
    kind = AgentKind.OPENCODE
    label = "OpenCode"
    binary = "opencode"
    install_hint = (
        "Install it with `npm install -g opencode-ai`, or give the profile its path with --binary."
    )
    # The defaults for a profile without a model (OpenCode's own default model); a
    # profile's provider decides otherwise: key_source.
    key_provider = "anthropic"
    key_env = "ANTHROPIC_API_KEY"
    mcp_client = True
    # `run --auto` is in 1.18.5's help (the earliest seen with it); tested with 1.18.33.
    min_version = (1, 18, 5)
    sandbox_logins = ("auth.json",)
    sandbox_settings = ("opencode.json", "config.json")

    def key_source(self, profile: AgentProfile) -> tuple[str, str]:
        """The keyring entry and the environment variable of the profile's provider."""
        provider = provider_of(profile.model)
        if not provider:
            return self.key_provider, self.key_env
        if provider in KEY_SOURCES:
            return KEY_SOURCES[provider]
        return provider, secrets.key_variable(provider)

    def prepare(
        self,
        profile: AgentProfile,
        request: RunRequest,
        binary: str,
        env: dict[str, str],
        session_id: str,
    ) -> ProcessSpec:
        mode = profile.permission_mode or "auto"
        if mode not in PERMISSION_MODES:
            raise UserError(
                f"OpenCode's permission modes are auto (approve what the user's config "
                f"does not deny) and config (the user's config as it is), not {mode!r}"
            )
        if profile.model and not provider_of(profile.model):
            raise UserError(
                f"OpenCode needs --model as provider/model (anthropic/claude-sonnet-4-5, "
                f"say), not {profile.model!r}"
            )
        argv = [binary, "run", "--format", "json"]
        if profile.model:
            argv += ["--model", profile.model]
        if mode == "auto":
            argv.append("--auto")
        resume = bool(request.follow_up and session_id)
        if resume:
            argv += ["--session", session_id]
        elif request.title.strip():
            argv += ["--title", request.title.strip()]
        argv += profile.extra_args
        run_env = dict(env)
        run_env.update(OFFLINE_ENV)
        run_env["PWD"] = str(request.worktree)
        ours = inline_config(self.mcp_config(request, env).env.get(CONFIG_CONTENT, ""))
        if profile.base_url:
            if not profile.model:
                raise UserError("an OpenCode profile with --base-url needs --model provider/model")
            ours["provider"] = self.provider_config(profile, env)
            run_env["OPENCODE_DISABLE_MODELS_FETCH"] = "1"
        commands = shell_permissions(profile.permission_rules)
        if commands:
            ours["permission"] = {"bash": commands}
        if ours:
            config = merged(inline_config(env.get(CONFIG_CONTENT, "")), ours)
            run_env[CONFIG_CONTENT] = json.dumps(config)
        return ProcessSpec(
            argv=argv,
            cwd=request.worktree,
            env=run_env,
            stdin=task_message(request, resume).encode(),
            timeout=profile.timeout,
            grace=profile.grace_seconds,
        )

    def provider_config(self, profile: AgentProfile, env: dict[str, str]) -> dict[str, Any]:
        """The profile's provider at its base URL, with its model declared."""
        provider, _, model = profile.model.partition("/")
        base_url = profile.base_url.rstrip("/")
        options: dict[str, Any] = {"baseURL": base_url}
        entry: dict[str, Any] = {"options": options, "models": {model: {"name": model}}}
        if provider == "anthropic":
            if not base_url.endswith("/v1"):
                options["baseURL"] = base_url + "/v1"
        else:
            entry.update(npm=OPENAI_COMPATIBLE, name=provider)
            _name, variable = self.key_source(profile)
            if env.get(variable):
                options["apiKey"] = "{env:" + variable + "}"
        return {provider: entry}

    def mcp_config(
        self, request: RunRequest, env: Mapping[str, str], profile: AgentProfile | None = None
    ) -> McpSetup:
        """The servers as the `mcp` key of OPENCODE_CONFIG_CONTENT (inline config, laid
        over the user's own: nothing is written). prepare merges it with the rest."""
        if not request.mcp_servers:
            return McpSetup()
        mcp = {server.name: opencode_server(server) for server in request.mcp_servers}
        return McpSetup(env={CONFIG_CONTENT: json.dumps({"mcp": mcp})})

    def parser(self) -> OpenCodeParser:
        return OpenCodeParser()

    def sandbox_dirs(self, env: Mapping[str, str]) -> list[Path]:
        """Its data (sessions, its database, snapshots, logs), config (where it installs
        its plugin SDK) and state directories, as it finds them (XDG, else the home's)."""
        return own_dirs(env)


def opencode_server(server: McpLaunch) -> dict[str, object]:
    """One server as OpenCode's `mcp` entry; its `timeout` (ms) bounds each of its calls
    (OpenCode's default: 60 s)."""
    entry: dict[str, object]
    if server.stdio:
        entry = {"type": "local", "command": [server.command, *server.args]}
        entry |= {"environment": server.env} if server.env else {}
    else:
        entry = {"type": "remote", "url": server.url}
        entry |= {"headers": server.headers} if server.headers else {}
    if server.call_timeout_s is not None:
        entry["timeout"] = server.call_timeout_s * 1000
    return entry


def own_dirs(env: Mapping[str, str]) -> list[Path]:
    """OpenCode's `opencode` directories under XDG_DATA_HOME, XDG_CONFIG_HOME and
    XDG_STATE_HOME (their usual places in the home when unset); its cache goes to the
    sandbox's own XDG_CACHE_HOME."""
    home = Path(env.get("HOME") or Path.home())
    places = (
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_STATE_HOME", ".local/state"),
    )
    return [Path(env.get(name) or home / default) / "opencode" for name, default in places]


def provider_of(model: str) -> str:
    provider, slash, name = model.partition("/")
    return provider if slash and provider and name else ""


def inline_config(text: str) -> dict[str, Any]:
    """The user's own OPENCODE_CONFIG_CONTENT, to extend rather than replace."""
    try:
        config = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return config if isinstance(config, dict) else {}


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` laid on `base`, object by object: the user's settings for the same provider
    (a model's cost, headers) stay unless Seedbed sets the same key."""
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


class OpenCodeParser(StreamParser):
    """`--format json` lines to events. A tool call is printed once, finished, so it
    becomes a ToolCallEvent and its ToolResultEvent together; each model call's
    `step_finish` is a UsageEvent (the engine sums them)."""

    result_event = "final step_finish"

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
        if not self.session_id and isinstance(data.get("sessionID"), str):
            self.session_id = data["sessionID"]
        try:
            return handler(self, data)
        except (KeyError, TypeError, ValueError, AttributeError):
            return [RawEvent(line=line)]

    def _step_start(self, data: dict[str, Any]) -> list[Event]:
        return []

    def _text(self, data: dict[str, Any]) -> list[Event]:
        text = str(data["part"]["text"])
        return [TextEvent(text=text)] if text.strip() else []

    def _reasoning(self, data: dict[str, Any]) -> list[Event]:
        text = str(data["part"]["text"])
        return [StatusEvent(phase="reasoning", message=text)] if text.strip() else []

    def _tool_use(self, data: dict[str, Any]) -> list[Event]:
        part = data["part"]
        state = part["state"]
        name = str(part["tool"])
        call_id = str(part.get("callID") or part.get("id") or "")
        arguments = state.get("input") or {}
        failed = state.get("status") == "error"
        output = str((state.get("error") if failed else state.get("output")) or "")
        start, end = (state.get("time") or {}).get("start"), (state.get("time") or {}).get("end")
        duration = None
        if isinstance(start, int | float) and isinstance(end, int | float):
            duration = max(0.0, float(end - start))  # both in milliseconds
        events: list[Event] = [
            ToolCallEvent(
                call_id=call_id,
                name=name,
                tool_kind=TOOL_KINDS.get(name, ToolKind.OTHER),
                arguments=bounded_arguments(arguments),
            ),
            ToolResultEvent(
                call_id=call_id,
                name=name,
                output=bounded(output),
                is_error=failed,
                duration_ms=duration,
            ),
        ]
        if failed and any(denial in output for denial in DENIALS):
            what = summary(arguments)
            events.append(ErrorEvent(message=f"OpenCode was denied permission for {name}" + what))
        return events

    def _step_finish(self, data: dict[str, Any]) -> list[Event]:
        part = data["part"]
        # OpenCode's loop goes on after a step whose reason is "tool-calls" or "unknown"
        # and ends after any other ("stop", "length"…): only that last step is the result.
        self.ended = part.get("reason") not in CONTINUING_REASONS
        tokens = part.get("tokens") or {}
        cache = tokens.get("cache") or {}
        return [
            UsageEvent(
                # OpenCode's `input` leaves out the cached part, its `output` the reasoning.
                tokens_in=int(tokens.get("input") or 0)
                + int(cache.get("read") or 0)
                + int(cache.get("write") or 0),
                tokens_out=int(tokens.get("output") or 0) + int(tokens.get("reasoning") or 0),
                cost_usd=float(part.get("cost") or 0.0),
            )
        ]

    def _error(self, data: dict[str, Any]) -> list[Event]:
        message = error_text(data.get("error"))
        self.failed = True
        self.reason = message[:REASON_LIMIT]
        return [ErrorEvent(message=message)]


HANDLERS = {
    "step_start": OpenCodeParser._step_start,
    "text": OpenCodeParser._text,
    "reasoning": OpenCodeParser._reasoning,
    "tool_use": OpenCodeParser._tool_use,
    "step_finish": OpenCodeParser._step_finish,
    "error": OpenCodeParser._error,
}


def error_text(error: object) -> str:
    """A session error's message: `{"name": "APIError", "data": {"message": …}}`."""
    if not isinstance(error, dict):
        return "OpenCode reported an error"
    name = str(error.get("name") or "error")
    data = error.get("data")
    if not isinstance(data, dict) or not data.get("message"):
        return f"OpenCode: {name}"
    message = str(data["message"])
    status = data.get("statusCode")
    return f"{message} (HTTP {status})" if status else message


def summary(arguments: object) -> str:
    """The one argument that says what a tool call was about, if there is one."""
    if isinstance(arguments, dict):
        for key in ("command", "filePath", "pattern", "url", "path"):
            value = arguments.get(key)
            if isinstance(value, str) and value:
                return f": {value[:200]}"
    return ""
