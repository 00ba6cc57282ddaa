"""An agent CLI's private home in a sandbox: the user's files copied in, and a renewed
login carried back out.

A sandboxed CLI sees Seedbed's copy of its own directories (`~/.claude`, `~/.codex` …,
kept per task under the data dir), never the user's. At each start the user's login and
settings files are copied in (`seed`: the user's win over what a run left there). A CLI
that renews its login during the run (OAuth refresh tokens rotate) writes the new one
into the copy, and the user's own may stop working: `carry_back` copies a renewed login
file, and only a login file, back to the user's when it is safe to (see its docstring).
What was seeded is recorded (`LOGINS`, a hash per file) beside the copies, outside what
the sandbox sees: recovery carries back from it too, when an engine died mid-run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

LOGINS = "logins.json"  # in the task's home dir, which is never bound itself
MAX_LOGIN_BYTES = 1 << 20


class SeededLogin(BaseModel):
    """A login file copied from `user` to `private` when a run started, and the SHA-256
    of what it held then ("" when the user had none: nothing was seeded)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: Path
    private: Path
    digest: str


class SeededLogins(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    logins: list[SeededLogin] = []


def seed(user: Path, private: Path, names: Iterable[str]) -> None:
    """Copy the user's files `names` (plain files only) from `user` into `private`, each
    written beside and renamed into place (a link a run left there is replaced, never
    followed), readable by the user alone."""
    private.mkdir(parents=True, exist_ok=True)
    for name in names:
        found = user / name
        if found.is_file() and not found.is_symlink():
            with found.open("rb") as source:
                _write_new(private / name, source.read())


def seed_logins(home: Path, user: Path, private: Path, names: Iterable[str]) -> None:
    """`seed` the login files `names` and record what each held (under `home`, the task's
    private home, in which `private` lies), so that `carry_back` can tell a renewal."""
    private.mkdir(parents=True, exist_ok=True)
    seeded: list[SeededLogin] = []
    for name in names:
        content = _read_plain(user / name)
        if content is not None:
            _write_new(private / name, content)
        digest = _sha256(content) if content is not None else ""
        seeded.append(SeededLogin(user=user / name, private=private / name, digest=digest))
    _record(home, seeded)


def carry_back(home: Path) -> list[str]:
    """Copy each login file a run renewed in the private home `home` back to the user's,
    when: the private copy changed since it was seeded, the user's own did not (one
    renewed outside meanwhile wins), the user had one (a login made inside is not the
    user's), and the copy is a plain file of at most 1 MiB holding a JSON object with the
    same top-level keys as the user's. It is written beside the user's file and renamed
    over it (a link there is replaced, never followed), mode 0600. Notes for the run's
    log: what was carried back, and what was refused and why."""
    notes: list[str] = []
    kept: list[SeededLogin] = []
    for login in _recorded(home):
        private = _read_plain(login.private)
        if private is None and login.digest and os.path.lexists(login.private):
            notes.append(
                f"sandbox: {login.private} is not carried back: not a plain file of at most "
                "1 MiB (a link, a FIFO…)"
            )
        if private is None or not login.digest or _sha256(private) == login.digest:
            kept.append(login)
            continue
        refusal = _refusal(login, private)
        if refusal:
            notes.append(f"sandbox: the login it renewed in {login.private} {refusal}")
            kept.append(login)
            continue
        try:
            _write_new(login.user, private)
        except OSError as exc:
            notes.append(f"sandbox: the login it renewed could not be carried back: {exc}")
            kept.append(login)
            continue
        notes.append(f"sandbox: the login it renewed was carried back to {login.user}")
        kept.append(login.model_copy(update={"digest": _sha256(private)}))
    if kept:
        with contextlib.suppress(OSError):
            _write_new(home / LOGINS, SeededLogins(logins=kept).model_dump_json().encode())
    return notes


def _refusal(login: SeededLogin, private: bytes) -> str:
    """Why the renewed `private` content is not carried back to the user's file ("" when
    it may be)."""
    user = _read_plain(login.user)
    if user is None or _sha256(user) != login.digest:
        return f"is not carried back: {login.user} changed meanwhile (the user's own wins)"
    mine, theirs = _json_object(private), _json_object(user)
    if mine is None:
        return "is not carried back: it is not a JSON object"
    if theirs is not None and mine.keys() != theirs.keys():
        return f"is not carried back: it is not shaped as {login.user} is"
    return ""


def _json_object(content: bytes) -> dict[str, object] | None:
    with contextlib.suppress(ValueError, RecursionError):
        parsed = json.loads(content)
        if isinstance(parsed, dict):
            return parsed
    return None


def _record(home: Path, seeded: list[SeededLogin]) -> None:
    """Add `seeded` to the record (a task's runs may use several CLIs), each private file
    named once."""
    fresh = {login.private for login in seeded}
    kept = [login for login in _recorded(home) if login.private not in fresh]
    record = SeededLogins(logins=[*kept, *seeded])
    home.mkdir(parents=True, exist_ok=True)
    _write_new(home / LOGINS, record.model_dump_json().encode())


def _recorded(home: Path) -> list[SeededLogin]:
    content = _read_plain(home / LOGINS)
    if content is None:
        return []
    try:
        return SeededLogins.model_validate_json(content).logins
    except ValidationError:
        return []


def _read_plain(path: Path) -> bytes | None:
    """The content of `path` if it is a plain file (not a link, FIFO or device) of at
    most MAX_LOGIN_BYTES; opened without following a link or blocking on a FIFO."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as stream:
        found = os.fstat(stream.fileno())
        if not stat.S_ISREG(found.st_mode) or found.st_size > MAX_LOGIN_BYTES:
            return None
        content = stream.read(MAX_LOGIN_BYTES + 1)
    return content if len(content) <= MAX_LOGIN_BYTES else None


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _write_new(path: Path, content: bytes) -> None:
    """Write `content` to a new file beside `path` (mode 0600) and rename it over `path`:
    whatever was at `path` (a link, a FIFO) is replaced, never followed or opened."""
    temporary = path.with_name(f".{path.name}.seedbed-{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(content)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
