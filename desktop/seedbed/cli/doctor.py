"""`seedbed doctor`: what this machine offers Seedbed, each said in one line: the Qt
binding and a place to show a window, the keyring, git, the agent CLIs."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
from importlib import metadata

from seedbed.domain.models import Model


class Check(Model):
    name: str
    ok: bool
    detail: str


def examine() -> list[Check]:
    return [_qt(), _display(), _keyring(), _git(), *_agents()]


def _qt() -> Check:
    """The Qt binding, found without loading it (the command line never loads Qt)."""
    if importlib.util.find_spec("PySide6") is None:
        return Check(name="Qt", ok=False, detail="PySide6 is not installed")
    for distribution in ("PySide6-Essentials", "PySide6"):
        try:
            version = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
        return Check(name="Qt", ok=True, detail=f"{distribution} {version}")
    return Check(name="Qt", ok=True, detail="PySide6 (version unknown)")


def _display() -> Check:
    """The Qt platform the window will use, and why."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return Check(name="display", ok=True, detail=f"{platform} (QT_QPA_PLATFORM)")
    for variable, plugin in (("WAYLAND_DISPLAY", "wayland"), ("DISPLAY", "xcb")):
        if os.environ.get(variable):
            detail = f"{plugin} ({variable}={os.environ[variable]})"
            return Check(name="display", ok=True, detail=detail)
    if sys.platform != "linux":
        return Check(name="display", ok=True, detail=f"{sys.platform}'s own")
    return Check(
        name="display",
        ok=False,
        detail="no DISPLAY or WAYLAND_DISPLAY: the window cannot open here "
        "(the command line works; `seedbed gui --screenshot` renders offscreen)",
    )


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
        return Check(name="git", ok=False, detail=f"git does not run: {exc}")
    return Check(name="git", ok=True, detail=out.stdout.strip())


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
