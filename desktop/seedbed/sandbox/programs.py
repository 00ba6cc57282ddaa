"""Where a program is installed, so a sandbox that hides the home can still run it.

Agent CLIs live where their installer put them, often in the home: an npm prefix
(`~/.npm-global/lib/node_modules`), nvm's Node, a uv or pipx tool environment and the
Python it was made from. The sandbox binds those back read-only, and only those: the
program's install root, its interpreter's (from its `#!` line), and that interpreter's
own (a virtual environment's base Python).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from seedbed.sandbox.plan import SANDBOX_TMP, Bind

CHAIN = 3  # the program, its interpreter, the interpreter's base


def install_roots(program: str) -> list[Path]:
    """The directories a program needs to run, from its path (it need not be absolute)."""
    found = shutil.which(program) or program
    roots: list[Path] = []
    path: Path | None = Path(os.path.realpath(found))
    for _ in range(CHAIN):
        if path is None or not path.exists():
            break
        root = _root_of(path)
        if root not in roots:
            roots.append(root)
        if path.parent.name == "bin" and (path.parent.parent / "pyvenv.cfg").exists():
            # A virtual environment: its python is a link to the base one.
            base = Path(os.path.realpath(path.parent / "python"))
            path = base if base != path else _interpreter(path)
        else:
            path = _interpreter(path)
    return roots


def program_binds(programs: list[str], hidden: list[Path]) -> list[Bind]:
    """Read-only binds of the install roots of `programs` that lie in a hidden place or
    in /tmp (the sandbox's own is fresh)."""
    binds: list[Bind] = []
    unseen = [*hidden, SANDBOX_TMP]
    for program in programs:
        for root in install_roots(program):
            if any(root.is_relative_to(place) for place in unseen):
                bind = Bind(source=root, target=root)
                if bind not in binds:
                    binds.append(bind)
    return binds


def _root_of(path: Path) -> Path:
    """An npm package's whole node_modules tree (its dependencies sit beside it); else the
    prefix of a `bin/` (a virtual environment, a Node or Python install); else its dir."""
    parts = path.parts
    if "node_modules" in parts:
        return Path(*parts[: parts.index("node_modules") + 1])
    if path.parent.name == "bin":
        return path.parent.parent
    return path.parent


def _interpreter(path: Path) -> Path | None:
    """The program named by the `#!` line of a script (through `env`), resolved."""
    try:
        with path.open("rb") as stream:
            head = stream.read(256)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    words = head[2:].split(b"\n", 1)[0].decode(errors="replace").split()
    if not words:
        return None
    if Path(words[0]).name == "env":
        named = [word for word in words[1:] if not word.startswith("-")]
        found = shutil.which(named[0]) if named else None
    else:
        found = words[0]
    return Path(os.path.realpath(found)) if found else None
