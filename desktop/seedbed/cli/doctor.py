"""`seedbed doctor`: what this machine offers Seedbed, each said in one line: the Qt
binding and a display that answers, the keyring, git, the agent CLIs, and whether each
agent profile can run. It fails (exit 1) when the window or git cannot work here."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from pydantic import Field

from seedbed.domain.models import Model
from seedbed.store import Store

CONNECT_TIMEOUT_S = 1.0


class Check(Model):
    name: str
    ok: bool
    detail: str
    essential: bool = Field(
        False, description="Seedbed cannot work here without it: doctor exits 1."
    )


def examine(store: Store | None = None) -> list[Check]:
    checks = [_qt(), _display(), _keyring(), _git(), *_agents()]
    return checks + (_profiles(store) if store is not None else [])


def _qt() -> Check:
    """The Qt binding, found without loading it (the command line never loads Qt)."""
    if importlib.util.find_spec("PySide6") is None:
        return Check(name="Qt", ok=False, detail="PySide6 is not installed", essential=True)
    for distribution in ("PySide6-Essentials", "PySide6"):
        try:
            version = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
        return Check(name="Qt", ok=True, detail=f"{distribution} {version}", essential=True)
    return Check(name="Qt", ok=True, detail="PySide6 (version unknown)", essential=True)


def _display() -> Check:
    """The Qt platform the window will use, and whether its server answers: a DISPLAY
    left over from an old session (ssh, a closed Xvfb) names a server that is gone."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return Check(
            name="display", ok=True, detail=f"{platform} (QT_QPA_PLATFORM)", essential=True
        )
    for variable, plugin, problem in (
        ("WAYLAND_DISPLAY", "wayland", wayland_problem),
        ("DISPLAY", "xcb", x11_problem),
    ):
        value = os.environ.get(variable, "")
        if value:
            trouble = problem(value)
            detail = f"{plugin} ({variable}={value})" + (f": {trouble}" if trouble else "")
            return Check(name="display", ok=not trouble, detail=detail, essential=True)
    if sys.platform != "linux":
        return Check(name="display", ok=True, detail=f"{sys.platform}'s own", essential=True)
    return Check(
        name="display",
        ok=False,
        detail="no DISPLAY or WAYLAND_DISPLAY: the window cannot open here "
        "(the command line works; `seedbed gui --screenshot` renders offscreen)",
        essential=True,
    )


def x11_problem(display: str) -> str:
    """Why the X server `display` names does not answer, or "" when it does."""
    match = re.fullmatch(r"(?P<host>[^:]*):(?P<number>\d+)(?:\.\d+)?", display)
    if match is None:
        return "not a display name"
    host, number = match["host"], int(match["number"])
    if host in ("", "unix") or host.startswith("/"):
        path = f"/tmp/.X11-unix/X{number}"
        trouble = _connects(socket.AF_UNIX, path, f"no X server at {path}")
        if trouble and sys.platform == "linux":  # a sandbox may show only the abstract one
            return _connects(socket.AF_UNIX, "\0" + path, "") and trouble
        return trouble
    return _connects(socket.AF_INET, (host, 6000 + number), f"no X server at {host}")


def wayland_problem(display: str) -> str:
    """Why the Wayland compositor does not answer, or "" when it does."""
    path = Path(display)
    if not path.is_absolute():
        path = Path(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent")) / display
    return _connects(socket.AF_UNIX, str(path), f"no Wayland compositor at {path}")


def _connects(family: socket.AddressFamily, address: object, failure: str) -> str:
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(CONNECT_TIMEOUT_S)
            sock.connect(address)
    except OSError as exc:
        return f"{failure} ({exc.strerror or exc})"
    return ""


def _keyring() -> Check:
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if isinstance(backend, fail.Keyring):
        return Check(
            name="keyring",
            ok=False,
            detail="no backend: API keys cannot be stored (install and unlock a Secret "
            "Service such as gnome-keyring, or use key environment variables)",
        )
    return Check(name="keyring", ok=True, detail=name)


def _git() -> Check:
    try:
        out = subprocess.run(
            ["git", "--version"], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return Check(name="git", ok=False, detail=f"git does not run: {exc}", essential=True)
    return Check(name="git", ok=True, detail=out.stdout.strip(), essential=True)


def _agents() -> list[Check]:
    from seedbed.agents.cli.doctor import check_all

    found = asyncio.run(check_all())
    return [
        Check(
            name=f.label,
            ok=bool(f.path) and f.supported,
            detail=(
                f"{f.version or '?'} {'' if f.supported else '(NOT SUPPORTED) '}{f.path}"
                if f.path
                else f"not found: {f.hint}"
            ),
        )
        for f in found
    ]


def _profiles(store: Store) -> list[Check]:
    """Each agent profile: can it run now (its key, its CLI)?"""
    from seedbed.agents.readiness import problems

    return [
        Check(name=f"profile {name}", ok=not problem, detail=problem or "can run")
        for name, problem in problems(store).items()
    ]
