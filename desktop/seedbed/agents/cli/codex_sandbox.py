"""Whether Codex's Linux sandbox can start its commands in the environment it is given.

Codex 0.171 runs a sandboxed command as `bwrap … -- codex-linux-sandbox …` when a
`bwrap` is on its PATH (else through the bubblewrap bundled in its npm package, which
needs nothing more). `codex-linux-sandbox` is an alias of the codex executable that
Codex puts in a directory under its home (`CODEX_HOME/tmp/path2/…`) and prepends to the
PATH at start; but it refuses to create that alias when its home lies under the
temporary directory ("Refusing to create helper binaries under temporary dir", see
codex-rs/arg0). Then every command of a `read-only` or `workspace-write` run fails with
"bwrap: execvp codex-linux-sandbox: No such file or directory", which only the model
sees, so the run ends without a word to the user. Seedbed fails such a run before it
starts, saying why and what to change.

Codex finds its home as CODEX_HOME, else `$HOME/.codex`; its temporary directory is
Rust's `std::env::temp_dir()`: TMPDIR, else /tmp. An empty TMPDIR is the empty path,
which every path starts with: Codex 0.171 then refuses whatever its home.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path


def codex_home(env: Mapping[str, str]) -> Path | None:
    """The directory Codex keeps its state in, for this environment."""
    if env.get("CODEX_HOME"):
        return Path(env["CODEX_HOME"])
    if env.get("HOME"):
        return Path(env["HOME"]) / ".codex"
    return None


def temp_root(env: dict[str, str]) -> str:
    """Codex's temporary directory; "" (an empty TMPDIR) holds every path for Rust."""
    return env.get("TMPDIR", "/tmp")


def helper_problem(env: dict[str, str], bwrap: str | None) -> str:
    """Why Codex's sandboxed commands cannot start with this environment and the `bwrap`
    found on its PATH (None: none, so Codex uses its own); "" when they can."""
    home = codex_home(env)
    temp = temp_root(env)
    if bwrap is None or home is None or (temp and not home.is_relative_to(temp)):
        return ""
    where = temp or 'TMPDIR="" (every directory, to Codex)'
    return (
        f"Codex cannot start its sandboxed commands here: its home {home} is under the "
        f"temporary directory {where}, where Codex will not set up its sandbox helper, "
        f"which the bubblewrap at {bwrap} needs. Set CODEX_HOME to a directory outside "
        f"{temp or 'it'}, or give the profile --permission-mode danger-full-access."
    )


def sandbox_problem(env: dict[str, str]) -> str:
    """`helper_problem` with the `bwrap` Codex will find on the PATH of `env`."""
    return helper_problem(env, shutil.which("bwrap", path=env.get("PATH", "")))
