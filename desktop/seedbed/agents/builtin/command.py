"""The built-in agent's run_command tool: `sh -c` in the worktree, bounded output.

The command runs through ManagedProcess, so it has its own process group: at the
timeout, or when the calling task is cancelled (the run was stopped), the whole group
gets SIGTERM, then SIGKILL after a short grace. Standard input is empty. The output
keeps its first and last lines (where errors usually are) around a note of the cut.
"""

from __future__ import annotations

import signal
from collections import deque
from collections.abc import Mapping
from pathlib import Path

from seedbed.agents.builtin.files import cut_line
from seedbed.agents.process import RUN_MARKER_VARIABLE, ManagedProcess, ProcessSpec
from seedbed.sandbox.plan import SandboxPlan

COMMAND_TIMEOUT = 120.0
COMMAND_MAX_TIMEOUT = 1800.0
COMMAND_KILL_GRACE = 2.0
COMMAND_LINE_CAP = 2048  # bytes of one output line; longer ones are cut with a note
COMMAND_HEAD_CHARS = 8_000
COMMAND_TAIL_CHARS = 16_000
RUN_ID_VARIABLE = "SEEDBED_RUN_ID"

# Variables that lead to the user's keys. With the D-Bus session bus a command can ask
# the Secret Service (GNOME Keyring, KWallet) for anything stored there, the model
# provider's API key included, with no prompt for an unlocked keyring; and an API key
# in the environment is one `env` away from the model's context, the events and the
# logs. Dropping them closes the easy, accidental routes; it is not a sandbox (some
# D-Bus libraries fall back to $XDG_RUNTIME_DIR/bus, and the command runs as the user).
KEYRING_VARIABLES = frozenset(
    {"DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"}
)
KEY_SUFFIX = "_API_KEY"


def command_environment(
    env: Mapping[str, str], run_id: int | None = None, marker: str = ""
) -> dict[str, str]:
    """`env` without what leads to keys, marked with the run's id if there is one.

    The marker lets the engine's crash recovery find (in /proc) and kill what a dead
    engine's run left running.
    """
    safe = {
        name: value
        for name, value in env.items()
        if name not in KEYRING_VARIABLES and not name.upper().endswith(KEY_SUFFIX)
    }
    if run_id is not None:
        safe[RUN_ID_VARIABLE] = str(run_id)
    if marker:
        safe[RUN_MARKER_VARIABLE] = marker
    return safe


class OutputCollector:
    """Keeps the first and the last lines of a command's output within two budgets."""

    def __init__(
        self, head_chars: int = COMMAND_HEAD_CHARS, tail_chars: int = COMMAND_TAIL_CHARS
    ) -> None:
        self.head_chars, self.tail_chars = head_chars, tail_chars
        self.head: list[str] = []
        self.tail: deque[str] = deque()
        self._head_used = self._tail_used = 0
        self.cut_lines = self.cut_chars = 0

    def add(self, line: str) -> None:
        line = cut_line(line, min(self.head_chars, self.tail_chars) // 2)
        if not self.tail and self._head_used + len(line) + 1 <= self.head_chars:
            self.head.append(line)
            self._head_used += len(line) + 1
            return
        self.tail.append(line)
        self._tail_used += len(line) + 1
        while self._tail_used > self.tail_chars:
            dropped = self.tail.popleft()
            self._tail_used -= len(dropped) + 1
            self.cut_lines += 1
            self.cut_chars += len(dropped) + 1

    def text(self) -> str:
        parts = self.head
        if self.cut_lines:
            note = f"[… {self.cut_lines} lines ({self.cut_chars} characters) cut here …]"
            parts = [*parts, note]
        return "\n".join([*parts, *self.tail])


def command_spec(
    worktree: Path,
    env: dict[str, str],
    command: str,
    timeout: float,
    sandbox: SandboxPlan | None = None,
) -> ProcessSpec:
    # The outer shell points stderr at stdout, so both arrive in the order written, then
    # becomes `sh -c command` (same pid, same process group; $0 and line numbers as usual).
    return ProcessSpec(
        argv=["/bin/sh", "-c", 'exec 2>&1; exec /bin/sh -c "$1"', "sh", command],
        cwd=worktree,
        env=env,
        timeout=timeout,
        grace=COMMAND_KILL_GRACE,
        line_cap=COMMAND_LINE_CAP,
        sandbox=sandbox,
    )


def command_result(
    output: str, exit_code: int | None, ended_by: str, timeout: float
) -> tuple[str, bool]:
    """The text the model reads and whether the command failed (exit code not 0)."""
    text = output or "[no output]"
    if ended_by == "timeout":
        status = (
            f"[timed out after {timeout:g} s: the command and everything it started were killed]"
        )
    elif exit_code is not None and exit_code < 0:
        status = f"[killed by signal {signal.Signals(-exit_code).name}]"
    else:
        status = f"[exit code {exit_code}]"
    return f"{text}\n{status}", ended_by != "" or exit_code != 0


async def run_command(
    worktree: Path,
    env: dict[str, str],
    command: str,
    timeout: float,
    sandbox: SandboxPlan | None = None,
) -> tuple[str, bool]:
    """Run `command` (in `sandbox`, if given); returns the bounded output with its status
    line, and if it failed.

    Raises OSError if the shell cannot be started (e.g. the worktree is gone), and
    SandboxUnavailable when its sandbox cannot be made.
    """
    process = await ManagedProcess.start(command_spec(worktree, env, command, timeout, sandbox))
    output = OutputCollector()
    notes: list[str] = []
    # Cancelled while iterating, batches() stops and reaps the whole process group.
    async for batch in process.batches():
        for _stream, line, cut in batch:
            output.add(f"{line} [… {cut} bytes cut from this line]" if cut else line)
        notes += process.sandbox_notes(batch)
    text, failed = command_result(output.text(), process.exit_code, process.ended_by, timeout)
    return "\n".join([text, *notes]), failed
