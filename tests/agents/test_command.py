"""The `command` agent: `prepare` as a pure function, then real runs through /bin/sh."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from seedbed.agents.base import RunOutcome, RunRequest
from seedbed.agents.cli.command import CommandRuntime, prepare
from seedbed.domain.events import OutputEvent, Stream
from seedbed.domain.models import AgentProfile, RunKind, RunStatus

NASTY_TITLE = (
    "Fix \"quoted\" and 'single' `ticks` $(touch pwned) ${HOME} $HOME; touch pwned2 && "
    "echo hi | tee pwned3 \\\n"
    "second line\twith tab\n\n"
    "  ümlaut & 🌱 * ? [a] ~ -n"
)


def request_for(worktree: Path, **changes) -> RunRequest:
    fields = {
        "task_id": 12,
        "run_id": 34,
        "run_number": 2,
        "kind": RunKind.IMPLEMENT,
        "title": "Add a button",
        "prompt": "Please add a button.\nThanks.",
        "worktree": worktree,
    }
    return RunRequest(**(fields | changes))


def profile_for(command: str, **changes) -> AgentProfile:
    return AgentProfile(name="script", command=command, **changes)


def run_agent(profile: AgentProfile, request: RunRequest, stop_after_first_batch=False):
    """Start a real run, collect every event, and return (events, outcome)."""

    async def main():
        run = await CommandRuntime(profile).start(request)
        assert run.pid is not None
        events = []
        async for batch in run.events():
            assert batch
            events.extend(batch)
            if stop_after_first_batch and len(events) == len(batch):
                await run.stop()
        return events, run.outcome

    return asyncio.run(asyncio.wait_for(main(), 10))


def lines_of(events, stream: Stream = Stream.STDOUT) -> list[str]:
    assert all(isinstance(event, OutputEvent) for event in events)
    return [event.line for event in events if event.stream == stream]


# --- prepare -------------------------------------------------------------------------


def test_prepare_first_run(tmp_path):
    profile = profile_for("my-agent --flag 'x y'", timeout=12.5, grace_seconds=0.7)
    env = {"PATH": "/usr/bin:/bin", "KEEP": "1", "SEEDBED_FOLLOW_UP": "stale, inherited"}
    original = dict(env)
    request = request_for(tmp_path)

    spec = prepare(profile, request, env)

    assert spec.argv == ["/bin/sh", "-c", "my-agent --flag 'x y'"]
    assert spec.cwd == tmp_path
    assert spec.stdin == b"Please add a button.\nThanks."
    assert spec.timeout == 12.5
    assert spec.grace == 0.7
    assert spec.env == {
        "PATH": "/usr/bin:/bin",
        "KEEP": "1",
        "SEEDBED_PROMPT": "Please add a button.\nThanks.",
        "SEEDBED_TASK_ID": "12",
        "SEEDBED_TASK_TITLE": "Add a button",
        "SEEDBED_WORKTREE": str(tmp_path),
        "SEEDBED_RUN_ID": "34",
        "SEEDBED_RUN_NUMBER": "2",
    }
    assert env == original, "prepare must not change the environment it is given"
    assert prepare(profile, request, env) == spec, "prepare must be deterministic"


def test_prepare_follow_up(tmp_path):
    profile = profile_for("agent")
    request = request_for(tmp_path, kind=RunKind.FIX, follow_up="Also fix the tests ✓")

    spec = prepare(profile, request, {})

    assert spec.argv == ["/bin/sh", "-c", "agent"]
    assert spec.stdin == "Also fix the tests ✓".encode()
    assert spec.env["SEEDBED_FOLLOW_UP"] == "Also fix the tests ✓"
    assert spec.env["SEEDBED_PROMPT"] == "Please add a button.\nThanks."
    assert spec.timeout is None
    assert spec.grace == AgentProfile(name="x").grace_seconds


def test_prepare_puts_the_title_only_into_the_environment(tmp_path):
    profile = profile_for('printf %s "$SEEDBED_TASK_TITLE"')
    spec = prepare(profile, request_for(tmp_path, title=NASTY_TITLE), {})
    assert spec.argv == ["/bin/sh", "-c", 'printf %s "$SEEDBED_TASK_TITLE"']
    assert spec.env["SEEDBED_TASK_TITLE"] == NASTY_TITLE
    assert all(NASTY_TITLE not in arg for arg in spec.argv)


# --- real runs -----------------------------------------------------------------------


def test_success_with_stdin_environment_and_cwd(tmp_path):
    worktree = tmp_path / "worktree"
    worktree.mkdir()
    command = (
        'echo "cwd=$(pwd)"; echo "task=$SEEDBED_TASK_ID run=$SEEDBED_RUN_ID"; '
        'echo "follow=${SEEDBED_FOLLOW_UP-unset}"; echo stdin:; cat; echo; echo oops >&2'
    )
    events, outcome = run_agent(profile_for(command), request_for(worktree))

    assert lines_of(events) == [
        f"cwd={worktree}",
        "task=12 run=34",
        "follow=unset",
        "stdin:",
        "Please add a button.",
        "Thanks.",
    ]
    assert lines_of(events, Stream.STDERR) == ["oops"]
    assert all(event.ts > 0 and event.cut == 0 for event in events)
    assert outcome == RunOutcome(status=RunStatus.SUCCEEDED, exit_code=0)


def test_follow_up_text_arrives_on_stdin(tmp_path):
    request = request_for(tmp_path, follow_up="Rename it.\nPlease.")
    events, outcome = run_agent(profile_for('cat; echo; echo "env=$SEEDBED_FOLLOW_UP"'), request)
    assert lines_of(events) == ["Rename it.", "Please.", "env=Rename it.", "Please."]
    assert outcome.status == RunStatus.SUCCEEDED


def test_a_hostile_title_is_never_executed_and_echoes_back_byte_exact(tmp_path, monkeypatch):
    worktree = tmp_path / "worktree"
    worktree.mkdir()
    monkeypatch.chdir(tmp_path)  # a relative `touch pwned` would land here or in cwd
    command = 'printf %s "$SEEDBED_TASK_TITLE"; printf %s "$SEEDBED_TASK_TITLE" > title.out'
    events, outcome = run_agent(profile_for(command), request_for(worktree, title=NASTY_TITLE))

    assert outcome.status == RunStatus.SUCCEEDED
    assert "\n".join(lines_of(events)) == NASTY_TITLE
    assert (worktree / "title.out").read_bytes() == NASTY_TITLE.encode()
    created = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert created == ["worktree", "worktree/title.out"]
    assert not any("pwned" in name for name in created)


def test_a_missing_command_fails_with_127_and_says_not_found(tmp_path):
    events, outcome = run_agent(
        profile_for("seedbed-no-such-agent-binary --go"), request_for(tmp_path)
    )
    assert outcome.status == RunStatus.FAILED
    assert outcome.exit_code == 127
    assert "not found" in outcome.reason
    assert "seedbed-no-such-agent-binary" in outcome.reason
    assert any("not found" in line for line in lines_of(events, Stream.STDERR))


@pytest.mark.parametrize("code", [1, 2, 126, 255])
def test_a_non_zero_exit_fails_with_its_code(tmp_path, code):
    events, outcome = run_agent(profile_for(f"echo working; exit {code}"), request_for(tmp_path))
    assert lines_of(events) == ["working"]
    assert outcome.status == RunStatus.FAILED
    assert outcome.exit_code == code
    assert str(code) in outcome.reason


def test_killed_by_a_signal_fails_and_names_the_signal(tmp_path):
    _events, outcome = run_agent(profile_for("kill -KILL $$"), request_for(tmp_path))
    assert outcome.status == RunStatus.FAILED
    assert outcome.exit_code == -9
    assert "signal 9" in outcome.reason


def test_a_run_past_its_timeout_is_timed_out(tmp_path):
    profile = profile_for("echo started; sleep 1000", timeout=0.5, grace_seconds=0.5)
    events, outcome = run_agent(profile, request_for(tmp_path))
    assert lines_of(events) == ["started"]
    assert outcome.status == RunStatus.TIMED_OUT
    assert outcome.exit_code is not None and outcome.exit_code < 0
    assert "0.5" in outcome.reason


def test_stop_ends_the_run_as_stopped(tmp_path):
    profile = profile_for("echo started; sleep 1000", grace_seconds=0.5)
    events, outcome = run_agent(profile, request_for(tmp_path), stop_after_first_batch=True)
    assert lines_of(events) == ["started"]
    assert outcome.status == RunStatus.STOPPED
    assert outcome.exit_code is not None and outcome.exit_code < 0


def test_stop_of_a_run_ignoring_sigterm_still_ends_it(tmp_path):
    profile = profile_for('trap "" TERM; echo started; sleep 1000', grace_seconds=0.5)
    _events, outcome = run_agent(profile, request_for(tmp_path), stop_after_first_batch=True)
    assert outcome.status == RunStatus.STOPPED
    assert outcome.exit_code == -9


def test_over_long_output_lines_carry_the_cut(tmp_path):
    profile = profile_for("head -c 100000 /dev/zero | tr '\\0' y; echo; echo end")
    events, outcome = run_agent(profile, request_for(tmp_path))
    assert [(len(e.line), e.cut) for e in events] == [(64 * 1024, 100000 - 64 * 1024), (3, 0)]
    assert outcome.status == RunStatus.SUCCEEDED
