"""How a coding-agent CLI is given a run's MCP servers: what its adapter's pure
`mcp_config` returns (options, variables, files of the run's own), and the small
impure step that writes those files before the CLI starts (CliRuntime.start)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from seedbed.agents.base import RunRequest
from seedbed.domain.errors import UserError


class McpSetup(BaseModel):
    """How one CLI is given a run's MCP servers, its own way: options on its command
    line, variables, files of the run's own (never the user's config files), and a note
    for the log when it cannot be given them.

    `links`: a directory of ours whose entries stand for those of one of the user's
    (each a symlink, but for the JSON files of `merged`, copied), `shared` the user's
    directories made first if missing (what the CLI writes there, its sessions, must
    outlive the run); `merged`: JSON laid over a file of ours (the copy of the user's,
    the sandbox's seeded one), key by key."""

    argv: list[str] = []
    env: dict[str, str] = {}
    files: dict[Path, str] = {}
    links: dict[Path, Path] = {}
    shared: list[Path] = []
    merged: dict[Path, dict[str, Any]] = {}
    note: str = ""

    @property
    def owned(self) -> bool:
        """Whether it writes anything in the run's own directory."""
        return bool(self.files or self.links)


PREFIX = "seedbed-mcp-"  # the run's own directory's name in the temporary directory


def mcp_dir(request: RunRequest) -> Path:
    """The run's own directory for the files of its MCP servers (pure: named after the
    run's marker, which no other run of any data dir has)."""
    mark = (request.marker or str(request.run_id)).replace(":", "-")
    return Path(tempfile.gettempdir()) / f"{PREFIX}{mark}"


def write_mcp_files(setup: McpSetup) -> None:
    """Write `setup`'s files, links and merged JSON, readable by this user only (they may
    hold tokens). A user's JSON file that cannot be read is laid over as empty."""
    for path, text in setup.files.items():
        write_private(path, text)
    for directory in setup.shared:
        directory.mkdir(parents=True, exist_ok=True)
    for ours, users in setup.links.items():
        own_directory(ours.parent)
        ours.mkdir(mode=0o700, exist_ok=True)
        entries = sorted(users.iterdir()) if users.is_dir() else []
        for entry in entries:
            target = ours / entry.name
            if target in setup.merged and entry.is_file():
                shutil.copyfile(entry, target)
            elif not os.path.lexists(target):
                target.symlink_to(entry)
    for path, overlay in setup.merged.items():
        base: object = {}
        with contextlib.suppress(OSError, ValueError):
            base = json.loads(path.read_text(encoding="utf-8"))
        whole = json_merged(base if isinstance(base, dict) else {}, overlay)
        write_private(path, json.dumps(whole, indent=2))


def own_directory(directory: Path) -> None:
    """Make `directory` (0700), or check that the one there is this user's own, private,
    and no link: its name is known, and on a machine shared with other users one of
    them could have made it first, to read what we write or to choose it."""
    top = Path(tempfile.gettempdir())
    chain = [directory, *directory.parents]
    roots = [i for i, p in enumerate(chain) if p.parent == top and p.name.startswith(PREFIX)]
    ours = chain[: roots[0] + 1] if roots else []  # from it up to the run's own directory
    if not ours:  # elsewhere (a private home in the data dir): the data dir's rules
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for place in reversed(ours):  # each made private, from the top down
        place.mkdir(mode=0o700, exist_ok=True)
    for place in ours:
        found = os.lstat(place)
        if (
            not stat.S_ISDIR(found.st_mode)
            or found.st_uid != os.getuid()
            or stat.S_IMODE(found.st_mode) & 0o077
        ):
            raise UserError(
                f"{place} is not a private directory of yours (made by another user, or a "
                "link): remove it and start the task again"
            )


def write_private(path: Path, text: str) -> None:
    own_directory(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)  # a copy of the user's file came with its own mode
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


def json_merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` laid on `base`, object by object."""
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = json_merged(result[key], value)
        else:
            result[key] = value
    return result
