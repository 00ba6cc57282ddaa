"""`seedbed --install-service`: a systemd user unit that keeps the engine of a data dir
running from login on, so agents run whether or not a window or a terminal is open.

The unit runs `seedbed --data-dir DIR engine serve` (the same foreground engine `engine
start` runs detached) with idle exit off: systemd, not the engine, decides its life. One
unit per data dir: the default one is `seedbed-engine.service`, another gets a short
digest of its path in the name. On macOS the same is a launchd agent (README).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from seedbed.cli.desktop_entry import launch_command
from seedbed.paths import resolve_data_dir
from seedbed.service.ready_window import READY_ENV

IDLE_EXIT_VARIABLE = "SEEDBED_ENGINE_IDLE_EXIT_SECONDS"


def config_home() -> Path:
    configured = os.environ.get("XDG_CONFIG_HOME", "")
    return Path(configured) if configured.strip() else Path.home() / ".config"


def unit_name(data_dir: Path) -> str:
    """seedbed-engine.service for the default data dir, else one named after its path."""
    default = resolve_data_dir(None) if "SEEDBED_DATA_DIR" not in os.environ else None
    if default is not None and data_dir.resolve() == default.resolve():
        return "seedbed-engine.service"
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:8]
    return f"seedbed-engine-{digest}.service"


def quote(arg: str) -> str:
    """One argument of ExecStart as systemd reads it (systemd.syntax(7)): quoted when it
    holds a space, a quote or a backslash; `%` and `$` doubled so nothing is expanded."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if arg and not any(c in arg for c in " \t\"'\\;"):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_text(data_dir: Path, argv: list[str]) -> str:
    command = [*argv, "--data-dir", str(data_dir.resolve()), "engine", "serve"]
    return (
        "[Unit]\n"
        f"Description=Seedbed engine for {str(data_dir.resolve()).replace('%', '%%')}\n"
        "\n"
        "[Service]\n"
        f"ExecStart={' '.join(quote(arg) for arg in command)}\n"
        f"Environment={IDLE_EXIT_VARIABLE}=0\n"
        # A ready window's forks would be in this unit's cgroup, and its stop would
        # kill every open window (service/ready_window.py).
        f"Environment={READY_ENV}=0\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        # A stop gives the runs time to commit their work (as `seedbed engine stop`).
        "TimeoutStopSec=90\n"
        "KillMode=mixed\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def install(data_dir: Path, target: Path | None = None, argv: list[str] | None = None) -> Path:
    """Write the unit under `target` (systemd's user unit folder); its path."""
    folder = target or config_home() / "systemd" / "user"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / unit_name(data_dir)
    path.write_text(unit_text(data_dir, argv or launch_command()), encoding="utf-8")
    return path
