"""The repository's shared git config as a sandbox sees it: without its credentials.

A repository's `.git/config` is read inside every sandbox (git needs its format and
core settings), and it may hold credentials: a token in a remote's URL
(`https://x-access-token:ghp_…@github.com/…`), an `http.extraHeader` with a bearer token,
a `[credential]` helper's settings. The sandbox sees a copy without them, bound over the
real one (read-only, as the real one would be).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

SECTION = re.compile(r"^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+\"((?:[^\"\\]|\\.)*)\")?\s*\]\s*(.*)$")
KEY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=(.*))?$")
USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")
HIDDEN = "[seedbed: hidden in the sandbox]"


def without_credentials(text: str) -> str:
    """`text` (a git config file) without credentials: `[credential…]` sections and
    `extraHeader` settings left out, the user part of every URL (`user:token@`) cut."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines():
        section = SECTION.match(line)
        if section:
            skipping = section.group(1).lower() == "credential"
            if skipping:
                continue
            line = USERINFO.sub(lambda m: m.group("scheme"), line)
            out.append(line)
            continue
        if skipping:
            continue
        key = KEY.match(line)
        if key and key.group(1).lower() == "extraheader":
            out.append(f"\t# extraHeader {HIDDEN}")
            continue
        out.append(USERINFO.sub(lambda m: m.group("scheme"), line))
    return "\n".join(out) + "\n"


def sandbox_copy(common: Path, directory: Path) -> Path | None:
    """The copy of `common`'s config without credentials, written in `directory` (one
    file per repository, replaced whole); None when the repository has none, or nothing
    in it to hide."""
    config = common / "config"
    try:
        text = config.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
    safe = without_credentials(text)
    if safe == text or safe == text + "\n":
        return None  # nothing to hide: the real one is seen (as a program that writes it expects)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = hashlib.sha256(str(common).encode()).hexdigest()[:16]
    target = directory / f"{name}.config"
    temporary = directory / f".{name}.{os.getpid()}.tmp"
    temporary.write_text(safe, encoding="utf-8", errors="surrogateescape")
    os.replace(temporary, target)
    return target
