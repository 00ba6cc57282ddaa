"""`seedbed --install-desktop-entry`: the launcher entry, icons and AppStream metadata for
the current user (XDG data directory), so Seedbed shows up in the desktop's launcher."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import seedbed

APP_ID = "io.github.seedbed.Seedbed"


def resources_dir() -> Path:
    """resources/: inside the installed package (a wheel carries it as seedbed/resources),
    or beside the package in a checkout."""
    packaged = Path(seedbed.__file__).resolve().parent / "resources"
    if packaged.is_dir():
        return packaged
    return Path(seedbed.__file__).resolve().parents[2] / "resources"  # desktop/seedbed/..


def data_home() -> Path:
    configured = os.environ.get("XDG_DATA_HOME", "")
    return Path(configured) if configured.strip() else Path.home() / ".local" / "share"


def launch_command() -> list[str]:
    """How the launcher starts this very Seedbed: its console script, else this Python
    with `-m seedbed`."""
    script = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    if script is not None and script.name == "seedbed" and script.is_file():
        return [str(script)]
    found = shutil.which("seedbed")
    if found:
        return [str(Path(found).resolve())]
    return [sys.executable, "-m", "seedbed"]


def exec_line(argv: list[str]) -> str:
    """argv as a desktop entry's Exec value: each argument quoted when it must be, with
    the characters the specification reserves escaped."""
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    parts = []
    for arg in argv:
        if any(c in reserved for c in arg):
            escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
            escaped = escaped.replace("$", "\\$")
            parts.append(f'"{escaped}"')
        else:
            parts.append(arg)
    return " ".join(parts).replace("%", "%%")


def install(target: Path | None = None, argv: list[str] | None = None) -> list[Path]:
    """Write the entry (its Exec this Seedbed), the icons and the metainfo under `target`
    (the XDG data directory); the files written."""
    source = resources_dir()
    home = target or data_home()
    written: list[Path] = []
    entry = (source / f"{APP_ID}.desktop").read_text()
    lines = [
        f"Exec={exec_line(argv or launch_command())}" if line.startswith("Exec=") else line
        for line in entry.splitlines()
    ]
    desktop = home / "applications" / f"{APP_ID}.desktop"
    desktop.parent.mkdir(parents=True, exist_ok=True)
    desktop.write_text("\n".join(lines) + "\n")
    written.append(desktop)
    icons = source / "icons"
    for png in sorted(icons.rglob("*.png")):
        out = home / "icons" / png.relative_to(icons)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, out)
        written.append(out)
    svg = home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    svg.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / f"{APP_ID}.svg", svg)
    written.append(svg)
    metainfo = home / "metainfo" / f"{APP_ID}.metainfo.xml"
    metainfo.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / f"{APP_ID}.metainfo.xml", metainfo)
    written.append(metainfo)
    _refresh(home)
    return written


def _refresh(home: Path) -> None:
    """Tell the desktop, where the tools exist (a missing one changes nothing).

    The user's icon theme directory is touched, which is how GTK and KDE notice new
    icons. Its icon cache is rebuilt only if one exists already: a cache made here would
    hide icons other programs install later without rebuilding it, as most do."""
    hicolor = home / "icons" / "hicolor"
    hicolor.touch()
    commands = [["update-desktop-database", "-q", str(home / "applications")]]
    if (hicolor / "icon-theme.cache").exists():
        commands.append(["gtk-update-icon-cache", "-q", "-t", "-f", str(hicolor)])
    for argv in commands:
        # A tool that fails or hangs changes nothing: the files are in place, and the
        # desktop notices them on its next look.
        if shutil.which(argv[0]):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(argv, check=False, capture_output=True, timeout=30)
