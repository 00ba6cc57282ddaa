"""Where the real coding-agent CLIs are for the tests: `.tools/`, put there by
`bash .ci/install-tools` (CI runs it). Without them a test that needs one is skipped on
a developer's machine and fails in CI (CI=true), so CI can never pass without them."""

from __future__ import annotations

import os
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
