"""Opening a worktree in the user's editor, file manager or terminal.

The command is a template from the settings (`code {path}`); it is split like a shell
would split it, but never run through one: a worktree path with spaces or quotes stays
one argument and can never become a command.
"""

from __future__ import annotations

import shlex
import subprocess
import threading
from pathlib import Path

from seedbed.domain.errors import UserError

PLACEHOLDER = "{path}"


def launch_argv(template: str, path: Path) -> list[str]:
    """The argv that opens `path` with `template`: `{path}` replaced in every argument
    where it appears, or the path appended as the last argument when none has it."""
    try:
        words = shlex.split(template)
    except ValueError as exc:
        raise UserError(f"cannot read the command {template!r}: {exc}") from None
    if not words:
        raise UserError("no command is set: set one in the settings")
    if not any(PLACEHOLDER in word for word in words):
        return [*words, str(path)]
    return [word.replace(PLACEHOLDER, str(path)) for word in words]


def launch(template: str, path: Path) -> None:
    """Start the program detached (its own session, no terminal streams): it outlives
    Seedbed and never writes into its output. Raises UserError when it cannot start."""
    argv = launch_argv(template, path)
    try:
        process = subprocess.Popen(
            argv,
            cwd=path if path.is_dir() else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    except FileNotFoundError:
        raise UserError(f"{argv[0]!r} was not found: check the command in the settings") from None
    except PermissionError:
        raise UserError(f"{argv[0]!r} cannot be run (permission denied)") from None
    except OSError as exc:
        raise UserError(f"could not start {argv[0]!r}: {exc.strerror}") from None
    # Someone must reap it when it exits (no zombie, no "still running" warning).
    threading.Thread(target=process.wait, name="seedbed-launch", daemon=True).start()
