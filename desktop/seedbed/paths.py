"""Where Seedbed keeps its data: one directory holds the database, logs and worktrees."""

from __future__ import annotations

import os
from pathlib import Path

from seedbed.domain.errors import UserError

ENV_DATA_DIR = "SEEDBED_DATA_DIR"
DATABASE_NAME = "seedbed.db"


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """--data-dir, else $SEEDBED_DATA_DIR, else the platform's user data dir. An empty
    one is refused: taken for "not given", it would quietly be the default data dir."""
    if explicit is not None:
        if not str(explicit).strip():
            raise UserError("--data-dir must not be empty")
        chosen = Path(explicit)
    elif ENV_DATA_DIR in os.environ:
        if not os.environ[ENV_DATA_DIR].strip():
            raise UserError(
                f"{ENV_DATA_DIR} must not be empty (unset it to use the default data dir)"
            )
        chosen = Path(os.environ[ENV_DATA_DIR])
    else:
        # platformdirs costs ~20 ms to import: loaded only when the default is needed
        # (start-up speed of the command line).
        import platformdirs

        chosen = Path(platformdirs.user_data_dir("seedbed"))
    chosen = chosen.expanduser().resolve()
    try:
        chosen.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot use {chosen} as the data directory: {exc.strerror}") from None
    return chosen


def worktrees_dir(data_dir: Path, project_name: str) -> Path:
    return data_dir / "worktrees" / project_name


def database_path(data_dir: Path) -> Path:
    return data_dir / DATABASE_NAME


def program_command() -> tuple[list[str], dict[str, str]]:
    """How to start this very Seedbed again as a process of its own (the engine, the Qt
    probe): argv's head and the environment to give it. In the PyInstaller bundle the
    program is the bundle itself, started as a new instance of it (not a child sharing
    this one's unpacked set-up, which would find none of the bundle's libraries)."""
    import sys

    env = dict(os.environ)
    if getattr(sys, "frozen", False):
        env["PYINSTALLER_RESET_ENVIRONMENT"] = "1"
        return [sys.executable], env
    return [sys.executable, "-m", "seedbed"], env
