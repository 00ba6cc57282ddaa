"""Where the real coding-agent CLIs are for the tests: `.tools/`, put there by
`bash .ci/install-tools` (CI runs it). Without them a test that needs one is skipped on
a developer's machine and fails in CI (CI=true), so CI can never pass without them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / ".tools"
BINARIES = {
    "claude": TOOLS / "npm" / "node_modules" / ".bin" / "claude",
    "codex": TOOLS / "npm" / "node_modules" / ".bin" / "codex",
    "gemini": TOOLS / "npm" / "node_modules" / ".bin" / "gemini",
    "opencode": TOOLS / "npm" / "node_modules" / ".bin" / "opencode",
    "aider": TOOLS / "aider" / "bin" / "aider",
}


def cli_binary(name: str) -> Path:
    """The installed CLI `name`; skips (fails in CI) when it is not installed."""
    path = BINARIES[name]
    if not path.exists():
        message = f"{name} is not installed in {TOOLS}: run `bash .ci/install-tools`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def system_bwrap() -> Path:
    """The bubblewrap on PATH (Codex sandboxes its commands with it when there is one);
    skips (fails in CI, whose .ci/run installs it) when there is none."""
    found = shutil.which("bwrap")
    if found is None:
        message = "bubblewrap is not installed: apt-get install bubblewrap"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return Path(found)


def path_without(name: str, farm: Path) -> str:
    """A PATH with every program of ours but `name`: `farm`, a directory of links to the
    first of each name on PATH, as a machine without that program has them."""
    farm.mkdir(parents=True, exist_ok=True)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not Path(directory).is_dir():
            continue
        for program in Path(directory).iterdir():
            link = farm / program.name
            if program.name != name and not os.path.lexists(link) and os.access(program, os.X_OK):
                link.symlink_to(program)
    return str(farm)
