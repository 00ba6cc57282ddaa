"""What `seedbed doctor` finds: what this machine offers Seedbed, each said in one line: the Qt
binding, a display that answers and Qt's platform plugin really starting on it, the
keyring, git, the agent CLIs, the data dir, whether each agent profile can run and whose
name each project's commits carry; an essential check that fails means the window, git
or the data dir cannot work here. The command line prints them (cli/doctor.py)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import socket
import sqlite3
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from pydantic import Field

from seedbed.agents.cli.doctor import Found as FoundCli
from seedbed.agents.cli.doctor import check_all
from seedbed.agents.readiness import problems
from seedbed.core.sandboxing import SANDBOX_KINDS_NOTE
from seedbed.domain.errors import SeedbedError, UserError
from seedbed.domain.models import Model, Project
from seedbed.paths import database_path, program_command, resolve_data_dir
from seedbed.sandbox.bwrap import sandbox_support
from seedbed.store import Store
from seedbed.store.backup import (
    backup_time,
    backups_dir,
    list_backups,
    newest_good_backup,
    quick_check,
    restore_newest,
)
from seedbed.store.connection import read_only_problem
from seedbed.store.lock import EngineBusy, EngineLock
from seedbed.store.problems import storage_problem
from seedbed.vcs.runner import configured_identity, seedbed_identity_note

CONNECT_TIMEOUT_S = 1.0
PROBE_TIMEOUT_S = 30.0


class Check(Model):
    name: str
    ok: bool
    detail: str
    essential: bool = Field(
        False, description="Seedbed cannot work here without it: doctor exits 1."
    )


class RestoredBackup(Model):
    """What `restore_backup` did: the backup now in place, when it was made, and where
    the damaged database went."""

    restored: Path
    made: str
    moved_aside: Path


def restore_backup(data_dir: Path) -> RestoredBackup:
    """The newest good backup in place of a damaged database, under the engine's lock
    (refused while an engine runs, none starts meanwhile)."""
    lock = EngineLock(data_dir)
    try:
        lock.acquire()
    except EngineBusy as exc:
        raise UserError(f"{exc}: stop it before restoring a backup") from None
    try:
        backup, aside = restore_newest(data_dir)
    finally:
        lock.release()
    return RestoredBackup(restored=backup, made=backup_time(backup), moved_aside=aside)


def failed(checks: list[Check]) -> bool:
    """Whether an essential check failed: Seedbed cannot work here."""
    return any(c.essential and not c.ok for c in checks)


def agent_clis() -> list[FoundCli]:
    """The coding-agent CLIs on this machine, their versions and whether each is
    supported (`seedbed agents doctor`)."""
    return asyncio.run(check_all())


def database_check(data_dir: Path) -> Check:
    """SQLite's quick_check of the database; when it fails, the backup that can replace
    it and how."""
    db = database_path(data_dir)
    if not db.exists():
        return Check(name="database", ok=True, detail=f"{db} is made on first use")
    problem = quick_check(db)
    if problem == "ok":
        kept = list_backups(data_dir)
        newest = f", newest {kept[0].name}" if kept else ""
        return Check(
            name="database",
            ok=True,
            detail=f"quick_check ok; {len(kept)} backup(s) in {backups_dir(data_dir)}{newest}",
            essential=True,
        )
    good = newest_good_backup(data_dir)
    if good is None:
        remedy = f"no good backup in {backups_dir(data_dir)}: move {db.name} aside to start afresh"
    else:
        remedy = (
            f"the newest good backup is {good.name} (made {backup_time(good)}): restore it with "
            "`seedbed doctor --restore-backup` (the damaged file is kept aside)"
        )
    return Check(
        name="database", ok=False, detail=f"{db} is damaged ({problem}); {remedy}", essential=True
    )


def examine(data_dir: Path | None = None) -> list[Check]:
    """Every check; the data dir's last: `data_dir` as --data-dir gave it (None: the
    default one)."""
    checks = [qt := _qt(), display := _display()]
    if qt.ok and display.ok:
        checks.append(_qt_platform())
    return [*checks, _keyring(), _git(), _sandbox(), *_agents(), *_data(data_dir)]


def _sandbox() -> Check:
    """Whether sandboxed profiles can run here (bubblewrap and user namespaces)."""
    support = sandbox_support()
    if not support.works:
        return Check(name="sandbox", ok=False, detail=support.problem)
    return Check(
        name="sandbox",
        ok=True,
        detail=f"{support.version or 'bubblewrap'} ({support.bwrap}): sandboxed profiles run "
        f"in it ({SANDBOX_KINDS_NOTE})",
    )


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


PROBES = {"xcb": "DISPLAY", "wayland": "WAYLAND_DISPLAY"}  # a plugin and its server's variable


def _display() -> Check:
    """The Qt platform the window will use, and whether its server answers: a DISPLAY
    left over from an old session (ssh, a closed Xvfb) names a server that is gone.
    Tried in Qt's order: the one QT_QPA_PLATFORM names; else on Linux Wayland first when
    WAYLAND_DISPLAY is set or the session is Wayland, then X11; elsewhere the system's
    own. The display is there when one of them answers."""
    named = os.environ.get("QT_QPA_PLATFORM", "")
    wayland_session = os.environ.get("XDG_SESSION_TYPE", "") == "wayland"
    if named:
        plugins = [entry.split(":")[0] for entry in named.split(";") if entry]
        if not any(plugin in PROBES for plugin in plugins):
            return _display_check(True, f"{named} (QT_QPA_PLATFORM)")
    elif sys.platform != "linux":
        return _display_check(True, f"{sys.platform}'s own")
    elif os.environ.get("WAYLAND_DISPLAY") or wayland_session:
        plugins = ["wayland", "xcb"]  # as Qt: Wayland first, X11 if it does not start
    else:
        plugins = ["xcb"]
    tried = []
    for plugin in plugins:
        variable = PROBES.get(plugin, "")
        value = os.environ.get(variable, "") if variable else ""
        if plugin == "wayland" and not value and wayland_session:
            value = "wayland-0"  # where Qt looks in a Wayland session
        if not value:
            continue
        trouble = (x11_problem if plugin == "xcb" else wayland_problem)(value)
        if not trouble:
            return _display_check(True, f"{plugin} ({variable}={value})")
        tried.append(f"{plugin} ({variable}={value}): {trouble}")
    if tried:
        return _display_check(False, "; ".join(tried))
    return _display_check(
        False,
        "no DISPLAY or WAYLAND_DISPLAY: the window cannot open here "
        "(the command line works; `seedbed gui --screenshot` renders offscreen)",
    )


def _display_check(ok: bool, detail: str) -> Check:
    return Check(name="display", ok=ok, detail=detail, essential=True)


def _qt_platform() -> Check:
    """Qt's platform plugin, started as the window would start it, in a process of its
    own (a plugin that cannot load, say for a missing libxcb-cursor0, aborts it)."""
    head, env = program_command()
    argv = [*head, "gui", "--probe"]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env=env
        )
    except subprocess.TimeoutExpired:
        return _platform_check(False, f"Qt did not start within {PROBE_TIMEOUT_S:.0f} s")
    except OSError as exc:
        return _platform_check(False, f"cannot start {argv[0]}: {exc.strerror or exc}")
    name = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode == 0 and name:
        return _platform_check(True, f"{name} starts")
    return _platform_check(False, qt_reason(done.stderr) or f"Qt exited {done.returncode}")


def _platform_check(ok: bool, detail: str) -> Check:
    return Check(name="Qt platform", ok=ok, detail=detail, essential=True)


def qt_reason(stderr: str) -> str:
    """What Qt said when its platform plugin did not start: its plugin lines (where the
    real cause is named), else its last line."""
    lines = [
        line.strip()
        for line in stderr.splitlines()
        if line.strip() and not line.startswith("[PYI-")  # the bundle's loader, not Qt
    ]
    plugin = [line for line in lines if line.startswith("qt.qpa")]
    chosen = plugin or lines[-1:]
    text = " ".join(line.removeprefix("qt.qpa.plugin: ") for line in chosen)
    return text[:500]


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


def _connects(family: socket.AddressFamily, address: str | tuple[str, int], failure: str) -> str:
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
    found = agent_clis()
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


def _data(given: Path | None) -> list[Check]:
    """The data dir opens (SQLite, its schema), and each agent profile in it: can it run
    now (its key, its CLI)? And each project: whose identity its commits carry?"""
    try:
        data_dir = resolve_data_dir(given)
    except SeedbedError as exc:
        return [Check(name="data dir", ok=False, detail=str(exc), essential=True)]
    database = database_check(data_dir)
    try:
        store = Store.open(data_dir)
    except (SeedbedError, OSError, sqlite3.Error) as exc:
        detail = str(exc)
        if not isinstance(exc, SeedbedError):
            detail = storage_problem(exc, database_path(data_dir)) or detail
        return [Check(name="data dir", ok=False, detail=detail, essential=True), database]
    # Reads work on a read-only data dir; the engine, and every change, cannot.
    opened = Check(name="data dir", ok=True, detail=str(data_dir), essential=True)
    if store.read_only:
        opened = Check(
            name="data dir", ok=False, detail=read_only_problem(data_dir), essential=True
        )
    try:
        found = problems(store)
        projects = store.list_projects()
    finally:
        store.close()
    return [
        opened,
        database,
        *(
            Check(name=f"profile {name}", ok=not problem, detail=problem or "can run")
            for name, problem in found.items()
        ),
        *(_identity(project) for project in projects),
    ]


def _identity(project: Project) -> Check:
    """The git identity Seedbed's commits in the project's repository carry."""
    name = f"project {project.name}"
    if not project.path.is_dir():
        return Check(name=name, ok=False, detail=f"{project.path} does not exist")
    identity = configured_identity(project.path)
    if identity is None:
        return Check(name=name, ok=False, detail=seedbed_identity_note(project.path))
    return Check(name=name, ok=True, detail=f"commits as {identity[0]} <{identity[1]}>")
