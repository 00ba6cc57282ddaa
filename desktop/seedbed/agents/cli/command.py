"""The `command` agent: the profile's command through /bin/sh -c in the worktree.

The simplest real agent: people wrap their own scripts. The message for this run
arrives on stdin (the prompt, or the follow-up text for a follow-up run) and the whole
context in SEEDBED_* environment variables; every output line is an event; exit 0 is
success.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import SecretStr

from seedbed.agents.base import AgentRun, AgentRuntime, RunOutcome, RunRequest, now
from seedbed.agents.process import (
    RUN_MARKER_VARIABLE,
    ManagedProcess,
    ProcessSpec,
    keyless_environment,
)
from seedbed.domain.events import Event, OutputEvent, StatusEvent
from seedbed.domain.models import AgentProfile, RunStatus
from seedbed.secrets import ENV_FALLBACK

NOT_FOUND_EXIT = 127
# Linux refuses an environment string over 128 KiB (execve: "Argument list too long");
# longer texts reach the command on stdin only.
ENV_TEXT_LIMIT = 64 * 1024
KEY_VARIABLE = "SEEDBED_API_KEY"


def prepare(profile: AgentProfile, request: RunRequest, env: dict[str, str]) -> ProcessSpec:
    """argv, environment and stdin for one run; pure, so it is tested without spawning."""
    run_env = dict(env)
    run_env.update(
        {
            "SEEDBED_PROMPT": env_text(request.prompt),
            "SEEDBED_TASK_ID": str(request.task_id),
            "SEEDBED_TASK_TITLE": request.title,
            "SEEDBED_WORKTREE": str(request.worktree),
            "SEEDBED_RUN_ID": str(request.run_id),
            "SEEDBED_RUN_NUMBER": str(request.run_number),
            **({RUN_MARKER_VARIABLE: request.marker} if request.marker else {}),
        }
    )
    run_env.pop("SEEDBED_FOLLOW_UP", None)
    run_env.pop("SEEDBED_PLAN", None)
    message = request.prompt
    if request.plan.strip():  # the approved plan: in $SEEDBED_PLAN and after the prompt
        run_env["SEEDBED_PLAN"] = env_text(request.plan)
        message = f"{request.prompt}\n\nFollow this approved plan:\n\n{request.plan.strip()}"
    if request.follow_up:
        run_env["SEEDBED_FOLLOW_UP"] = env_text(request.follow_up)
        message = request.follow_up
    return ProcessSpec(
        argv=["/bin/sh", "-c", profile.command],
        cwd=request.worktree,
        env=run_env,
        stdin=message.encode(),
        timeout=profile.timeout,
        grace=profile.grace_seconds,
    )


def env_text(text: str) -> str:
    """Text for an environment variable: empty when too long for one (stdin has it)."""
    return text if len(text.encode()) <= ENV_TEXT_LIMIT else ""


class CommandRun(AgentRun):
    def __init__(self, process: ManagedProcess, profile: AgentProfile) -> None:
        self.process = process
        self.profile = profile
        self.pid = process.pid

    async def events(self) -> AsyncIterator[list[Event]]:
        async for batch in self.process.batches():
            ts = now()
            events: list[Event] = [
                OutputEvent.model_construct(ts=ts, stream=stream, line=line, cut=cut)
                for stream, line, cut in batch
            ]
            events += [
                StatusEvent(ts=ts, phase="implementing", message=note)
                for note in self.process.sandbox_notes(batch)
            ]
            yield events
        self.outcome = outcome_of(self.process, self.profile)

    async def stop(self, reason: str = "stop") -> None:
        await self.process.stop(reason)


def outcome_of(process: ManagedProcess, profile: AgentProfile) -> RunOutcome:
    code = process.exit_code
    if process.ended_by == "timeout":
        return RunOutcome(
            status=RunStatus.TIMED_OUT,
            exit_code=code,
            reason=f"timed out after {profile.timeout:g} s",
        )
    if process.ended_by:
        return RunOutcome(status=RunStatus.STOPPED, exit_code=code, reason="stopped")
    if code == 0:
        return RunOutcome(status=RunStatus.SUCCEEDED, exit_code=0)
    if code == NOT_FOUND_EXIT:
        reason = f"command not found (exit 127): {profile.command!r}; see the log"
    elif code is not None and code < 0:
        reason = f"killed by signal {-code}"
    else:
        reason = f"exited with code {code}"
    return RunOutcome(status=RunStatus.FAILED, exit_code=code, reason=reason)


def key_environment(key_name: str, api_key: SecretStr | None) -> dict[str, str]:
    """The variables that carry the key a command profile names: SEEDBED_API_KEY, and
    the provider's own variable (OPENAI_API_KEY…) when it names a provider's key."""
    if api_key is None:
        return {}
    value = api_key.get_secret_value()
    env = {KEY_VARIABLE: value}
    if key_name in ENV_FALLBACK:
        env[ENV_FALLBACK[key_name]] = value
    return env


class CommandRuntime(AgentRuntime):
    """Runs the profile's command with no provider key in its environment but the one
    the profile names (`key_name`), looked up by the engine."""

    def __init__(self, profile: AgentProfile, api_key: SecretStr | None = None) -> None:
        super().__init__(profile)
        self.api_key = api_key

    async def start(self, request: RunRequest) -> AgentRun:
        env = keyless_environment() | key_environment(self.profile.key_name, self.api_key)
        spec = prepare(self.profile, request, env)
        spec.sandbox = request.sandbox
        return CommandRun(await ManagedProcess.start(spec), self.profile)
