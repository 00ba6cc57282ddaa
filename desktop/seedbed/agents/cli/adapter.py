"""What every coding-agent CLI adapter provides, and the run that drives one.

An adapter is mostly pure: `prepare` turns a profile and a request into argv,
environment and stdin (tested without spawning anything), and its parser turns each
line the CLI prints into our events. `CliRun` is the one piece that runs: the process
in its own group, stdout lines to the parser, stderr lines as output, an idle timeout,
and the CLI's session id kept for the follow-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from pydantic import SecretStr

from seedbed.agents.base import AgentRun, AgentRuntime, RunOutcome, RunRequest
from seedbed.agents.cli.mcp_setup import McpSetup, mcp_dir, write_mcp_files
from seedbed.agents.process import (
    RUN_MARKER_VARIABLE,
    ManagedProcess,
    ProcessSpec,
    base_environment,
    withheld_variables,
)
from seedbed.agents.text import size_text
from seedbed.agents.urls import is_local
from seedbed.domain.errors import UserError
from seedbed.domain.events import Event, OutputEvent, RawEvent, StatusEvent, Stream
from seedbed.domain.models import AgentKind, AgentProfile, RunStatus
from seedbed.sandbox.homes import seed, seed_logins
from seedbed.sandbox.plan import Bind, SandboxPlan
from seedbed.sandbox.programs import program_binds

VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
VERSION_TIMEOUT = 20.0
VERSION_TIMEOUT_VARIABLE = "SEEDBED_VERSION_TIMEOUT"


class StreamParser(ABC):
    """Turns the lines one run of a CLI prints on stdout into events.

    `session_id` is the CLI's own session, for resuming it; `failed` and `reason` say
    whether the CLI reported a failure in its output (a final result that is an error).
    A CLI that ends each run with a result event names it in `result_event`, and its
    parser sets `ended` when it reads one: a CLI that exits 0 without it (garbage on
    stdout, a crash its wrapper hid) has not done its work."""

    session_id: str = ""
    failed: bool = False
    reason: str = ""
    result_event: str = ""
    ended: bool = False

    @abstractmethod
    def feed(self, line: str) -> list[Event]:
        """The events of one whole line; a line it does not understand is a RawEvent."""

    def saved(self) -> dict[str, object]:
        """What the next follow-up's parser needs besides the session id (JSON values):
        e.g. the running token totals of a CLI that reports them for the whole session."""
        return {}

    def restore(self, saved: dict[str, object]) -> None:  # noqa: B027 - optional hook
        """Carry on from what the previous run's parser `saved`; most need nothing."""


def sandbox_source(plan: SandboxPlan, directory: Path, env: Mapping[str, str]) -> Path:
    """Where a CLI's own `directory` comes from in its sandbox (cli_sandbox): the run's
    home of its own, unless it is Seedbed's (in its data dir)."""
    if plan.homes is None or directory.is_relative_to(plan.homes.parents[2]):
        return directory
    home = Path(env.get("HOME") or Path.home())
    return plan.homes / directory.relative_to(home if directory.is_relative_to(home) else "/")


class CliAdapter(ABC):
    """One coding-agent CLI."""

    kind: AgentKind
    label: str  # "Claude Code"
    binary: str  # the usual executable name
    install_hint: str  # how to install it, for the error when it is missing
    key_provider: str  # the keyring name its key is stored under by default
    key_env: str  # the environment variable the CLI reads its key from
    min_version: tuple[int, ...] = (0,)
    version_args: tuple[str, ...] = ("--version",)
    mcp_client = False  # whether it takes MCP servers (those that do override mcp_config)

    @abstractmethod
    def prepare(
        self,
        profile: AgentProfile,
        request: RunRequest,
        binary: str,
        env: dict[str, str],
        session_id: str,
    ) -> ProcessSpec:
        """argv, environment and stdin for one run; pure."""

    @abstractmethod
    def parser(self) -> StreamParser: ...

    def mcp_config(
        self, request: RunRequest, env: Mapping[str, str], profile: AgentProfile | None = None
    ) -> McpSetup:
        """How this CLI is given the run's MCP servers (pure; its files go in
        mcp_dir(request); `env` is the run's environment; `profile` the run's, for what
        else a CLI is given in those files: Gemini's policy). A CLI without an MCP client
        (mcp_client False: Aider 0.86) gets a note saying they are left out."""
        servers = request.mcp_servers
        if not servers:
            return McpSetup()
        names = ", ".join(server.name for server in servers)
        return McpSetup(note=f"{self.label} has no MCP client: not given {names}")

    def key_source(self, profile: AgentProfile) -> tuple[str, str]:
        """The provider a profile's key belongs to and the variable the CLI reads it
        from; a CLI that speaks to several providers (OpenCode) picks by the model."""
        return self.key_provider, self.key_env

    def parse_version(self, text: str) -> tuple[int, ...] | None:
        match = VERSION.search(text)
        if match is None:
            return None
        return tuple(int(part) for part in match.groups() if part is not None)

    def supports(self, version: tuple[int, ...] | None) -> bool:
        return version is not None and version >= self.min_version

    def sandbox_dirs(self, env: Mapping[str, str]) -> list[Path]:
        """In a sandbox (which hides the home): the directories of its own it must write
        (its config, sessions), made if missing; `env` is the run's environment."""
        return []

    def sandbox_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """In a sandbox: variables that point it at those directories."""
        return {}

    def sandbox_read_only(self, profile: AgentProfile, request: RunRequest) -> bool:
        """Whether this run may only read its worktree (the sandbox binds it read-only)."""
        return False

    # The files of those directories copied in from the user's at each sandboxed start
    # (the user's win over what a run left there): its login, which a renewal inside is
    # carried back from (sandbox/homes.py), and its settings, which never go back (a run
    # could plant a hook or an MCP server there).
    sandbox_logins: tuple[str, ...] = ()
    sandbox_settings: tuple[str, ...] = ()


def cli_sandbox(
    plan: SandboxPlan,
    adapter: CliAdapter,
    binary: str,
    env: Mapping[str, str],
    read_only: bool = False,
) -> SandboxPlan:
    """The run's sandbox with what this CLI needs: its install (and its interpreter's)
    read-only, its own directories writable."""
    binds = program_binds([binary], plan.hidden)
    for directory in adapter.sandbox_dirs(env):
        # Not the user's own (unless Seedbed's, in its data dir): a run that wrote a hook
        # or a plugin into it would run that, unsandboxed, the next time the user starts
        # the CLI.
        source = sandbox_source(plan, directory, env)
        if source != directory:
            assert plan.homes is not None
            seed(directory, source, adapter.sandbox_settings)
            seed_logins(plan.homes, directory, source, adapter.sandbox_logins)
        source.mkdir(parents=True, exist_ok=True)
        binds.append(Bind(source=source, target=directory, writable=True))
    kept = [
        bind.model_copy(update={"writable": False})
        if read_only and bind.target == plan.cwd
        else bind
        for bind in plan.binds
    ]
    return plan.model_copy(
        update={"binds": [*kept, *binds], "env": {**plan.env, **adapter.sandbox_env(env)}}
    )


def find_binary(adapter: CliAdapter, profile: AgentProfile) -> str:
    """The CLI's executable, or a UserError saying how to install it."""
    wanted = profile.binary or adapter.binary
    found = shutil.which(wanted)
    if found is None:
        where = f"{wanted!r} was not found" if profile.binary else f"{wanted!r} is not on PATH"
        raise UserError(f"{adapter.label} is not installed: {where}. {adapter.install_hint}")
    return found


def unsupported(adapter: CliAdapter, binary: str, text: str) -> str:
    """What to say of a CLI whose `--version` said `text`, too old or unreadable."""
    wanted = ".".join(map(str, adapter.min_version))
    said = text.splitlines()[0] if text else "no version"
    return (
        f"{adapter.label} at {binary} reports {said!r}; Seedbed needs {wanted} or newer. "
        f"{adapter.install_hint}"
    )


class VersionTimeout(UserError):
    """`--version` did not answer in time: a CLI that hangs, not one without a version."""


def version_timeout() -> float:
    """Seconds `--version` may take: VERSION_TIMEOUT, or $SEEDBED_VERSION_TIMEOUT (tests)."""
    with contextlib.suppress(ValueError):
        seconds = float(os.environ.get(VERSION_TIMEOUT_VARIABLE, ""))
        if 0 < seconds <= VERSION_TIMEOUT:
            return seconds
    return VERSION_TIMEOUT


async def probe_version(adapter: CliAdapter, binary: str) -> tuple[str, tuple[int, ...] | None]:
    """What `binary --version` prints, and the version in it; VersionTimeout when it
    does not answer in time (its whole process group is ended)."""
    seconds = version_timeout()
    process = await ManagedProcess.start(
        ProcessSpec(
            argv=[binary, *adapter.version_args],
            cwd=Path.home() if Path.home().is_dir() else Path("/"),
            env=base_environment(),
            timeout=seconds,
            grace=1,
        )
    )
    lines: list[str] = []
    async for batch in process.batches():
        lines.extend(text for _stream, text, _cut in batch)
    if process.ended_by == "timeout":
        raise VersionTimeout(
            f"{adapter.label} at {binary} did not answer --version within {seconds:g} s"
        )
    text = "\n".join(line for line in lines if line.strip())
    return text, adapter.parse_version(text)


def saved_of(conversation: str) -> dict[str, object]:
    """What the last run saved for a follow-up: the session id and its parser's state."""
    if not conversation:
        return {}
    with contextlib.suppress(ValueError):
        saved = json.loads(conversation)
        if isinstance(saved, dict):
            return saved
    return {}


def session_of(conversation: str) -> str:
    """The CLI session a follow-up resumes, from what the last run saved."""
    return str(saved_of(conversation).get("session_id", ""))


class CliRun(AgentRun):
    """A running CLI: its stdout through the adapter's parser, stopped when idle."""

    def __init__(
        self,
        process: ManagedProcess,
        parser: StreamParser,
        profile: AgentProfile,
        label: str,
        note: str = "",
        own_dir: Path | None = None,
    ) -> None:
        """`note`: said first in the log; `own_dir`: the run's own files, removed at its
        end."""
        self.process = process
        self.note = note
        self.own_dir = own_dir
        self.parser = parser
        self.profile = profile
        self.label = label
        self.pid = process.pid
        self._last_output = time.monotonic()
        self._idle = False
        self._too_long = False

    async def events(self) -> AsyncIterator[list[Event]]:
        watchdog = asyncio.create_task(self._watch_idle())
        try:
            if self.note:
                yield [StatusEvent(phase="mcp", message=self.note)]
            async for batch in self.process.batches():
                # Only the CLI's structured output (stdout) counts as progress: a CLI that
                # keeps printing retries on stderr is as stuck as a silent one.
                if any(stream is Stream.STDOUT for stream, _line, _cut in batch):
                    self._last_output = time.monotonic()
                events: list[Event] = []
                for stream, line, cut in batch:
                    if stream is Stream.STDOUT and not cut:
                        events.extend(self._feed(line))
                    elif stream is Stream.STDOUT:
                        # Cut at max_event_bytes: the event it carried is lost, and a CLI
                        # that prints such lines is broken or hostile; the run ends.
                        events.append(RawEvent(line=line[:4096] + f" … [{cut} bytes cut]"))
                        self._too_long = True
                        await self.process.stop("too long")
                    elif line.strip():
                        events.append(OutputEvent(stream=stream, line=line, cut=cut))
                if events:
                    yield events
        finally:
            watchdog.cancel()
            if self.own_dir is not None:
                shutil.rmtree(self.own_dir, ignore_errors=True)
        if self.parser.session_id:
            saved = {**self.parser.saved(), "session_id": self.parser.session_id}
            self.conversation = json.dumps(saved)
        self.outcome = self._outcome()

    async def stop(self, reason: str = "stop") -> None:
        await self.process.stop(reason)

    def _feed(self, line: str) -> list[Event]:
        try:
            return self.parser.feed(line)
        except RecursionError:  # JSON nested deeper than Python reads: kept as it came
            return [RawEvent(line=line[:4096] + " … [nested too deeply to read]")]

    async def _watch_idle(self) -> None:
        limit = self.profile.idle_timeout
        if not limit:
            return
        while True:
            await asyncio.sleep(min(1.0, limit / 4))
            if self.held:  # a silence the user's answer ends, not a stuck CLI
                self._last_output = time.monotonic()
            elif time.monotonic() - self._last_output >= limit:
                self._idle = True
                await self.process.stop("idle")
                return

    def _outcome(self) -> RunOutcome:
        code = self.process.exit_code
        if self._idle:
            return RunOutcome(
                status=RunStatus.TIMED_OUT,
                exit_code=code,
                reason=f"{self.label} printed nothing for {self.profile.idle_timeout:g} s",
            )
        if self._too_long:
            cap = size_text(self.profile.max_event_bytes)
            return RunOutcome(
                status=RunStatus.FAILED,
                exit_code=code,
                reason=f"{self.label} printed a line larger than {cap} "
                "(the profile's max_event_bytes)",
            )
        if self.process.ended_by == "timeout":
            return RunOutcome(
                status=RunStatus.TIMED_OUT,
                exit_code=code,
                reason=f"timed out after {self.profile.timeout:g} s",
            )
        if self.process.ended_by:
            return RunOutcome(status=RunStatus.STOPPED, exit_code=code, reason="stopped")
        if code == 0 and not self.parser.failed:
            if self.parser.result_event and not self.parser.ended:
                reason = (
                    f"the agent ended without a result ({self.label} exited 0 "
                    f"but printed no {self.parser.result_event!r} event)"
                )
                return RunOutcome(status=RunStatus.FAILED, exit_code=0, reason=reason)
            return RunOutcome(status=RunStatus.SUCCEEDED, exit_code=0)
        reason = self.parser.reason or f"{self.label} exited with code {code}"
        return RunOutcome(status=RunStatus.FAILED, exit_code=code, reason=reason)


class CliRuntime(AgentRuntime):
    """Runs one adapter's CLI for a profile; the key, if any, was looked up by the engine."""

    def __init__(
        self, profile: AgentProfile, adapter: CliAdapter, api_key: SecretStr | None = None
    ) -> None:
        super().__init__(profile)
        self.adapter = adapter
        self.api_key = api_key

    async def start(self, request: RunRequest) -> AgentRun:
        adapter = self.adapter
        binary = find_binary(adapter, self.profile)
        text, version = await probe_version(adapter, binary)
        if not adapter.supports(version):
            raise UserError(unsupported(adapter, binary, text))
        env = base_environment()
        env["SEEDBED_RUN_ID"] = str(request.run_id)
        if request.marker:
            env[RUN_MARKER_VARIABLE] = request.marker
        base_url = self.profile.base_url
        if base_url.startswith("http://") and not is_local(base_url):
            # A key inherited from the user's environment must not go out unencrypted.
            env.pop(adapter.key_source(self.profile)[1], None)
        own = adapter.key_source(self.profile)[1]
        if request.sandbox is not None:  # sandboxed: the key it reads, and no other
            for name in withheld_variables(env):
                if name != own:
                    del env[name]
        if self.api_key is not None:
            env[own] = self.api_key.get_secret_value()
        spec = adapter.prepare(self.profile, request, binary, env, session_of(request.conversation))
        own_dir = mcp_dir(request)
        mcp = adapter.mcp_config(request, env, self.profile)
        if request.sandbox is not None:
            read_only = adapter.sandbox_read_only(self.profile, request)
            spec.sandbox = cli_sandbox(request.sandbox, adapter, binary, spec.env, read_only)
            if mcp.owned:  # seen inside, not changed there; under its own dirs' binds
                bind = Bind(source=own_dir, target=own_dir, writable=False)
                spec.sandbox.binds.insert(len(request.sandbox.binds), bind)
            # Its servers' variables (tokens among them) are for it: kept in the sandbox;
            # and the programs of its stdio servers, which it starts there, bound in.
            spec.sandbox.passed_env.extend(mcp.env)
            commands = [server.command for server in request.mcp_servers if server.stdio]
            spec.sandbox.binds.extend(program_binds(commands, spec.sandbox.hidden))
        write_mcp_files(mcp)  # after the sandbox's seeding, which it may lay over
        spec.line_cap = self.profile.max_event_bytes
        spec.timeout = self.profile.timeout
        spec.grace = self.profile.grace_seconds
        parser = adapter.parser()
        parser.restore(saved_of(request.conversation))
        try:
            process = await ManagedProcess.start(spec)
        except BaseException:
            shutil.rmtree(own_dir, ignore_errors=True)
            raise
        owned = own_dir if mcp.owned else None
        return CliRun(process, parser, self.profile, adapter.label, mcp.note, owned)
