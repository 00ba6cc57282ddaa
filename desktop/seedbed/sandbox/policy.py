"""The plan of a run's sandbox, from where the run is and what its profile allows.

Hidden: the home, the run-time dir (the session bus, the keyring, the SSH agent live
there), Seedbed's data dir (other tasks' worktrees, the database, the engine's socket) and
the main checkout. Seen again: the run's worktree (writable), the repository's git dir
(read-only, but the run's own pieces: sandbox/gitshare.py) and the paths the profile and
project add.
"""

from __future__ import annotations

import os
from pathlib import Path

from seedbed.domain.models import SandboxNetwork
from seedbed.sandbox.gitshare import GitShare, worktree_git_dirs
from seedbed.sandbox.plan import Bind, SandboxPlan

WRITABLE_PREFIX = "rw:"


def extra_binds(paths: list[str]) -> list[Bind]:
    """`PATH` (read-only) and `rw:PATH` (writable) entries as binds; `~` is the home.
    Paths that do not exist are left out (bubblewrap cannot bind them)."""
    binds: list[Bind] = []
    for entry in paths:
        writable = entry.startswith(WRITABLE_PREFIX)
        text = entry.removeprefix(WRITABLE_PREFIX).strip()
        if not text:
            continue
        path = Path(text).expanduser().absolute()
        if path.exists():
            binds.append(Bind(source=path, target=path, writable=writable))
    return binds


def hidden_places(data_dir: Path, repo: Path) -> list[Path]:
    """The directories the sandbox sees empty (and read-only)."""
    places = [Path.home(), data_dir, repo]
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    places.append(Path(runtime))
    seen: list[Path] = []
    for place in places:
        place = place.absolute()
        if place != Path("/") and place not in seen:
            seen.append(place)
    return seen


def run_plan(
    worktree: Path,
    data_dir: Path,
    repo: Path,
    network: SandboxNetwork,
    share: GitShare | None = None,
    paths: list[str] | None = None,
) -> SandboxPlan:
    """The sandbox of a process of a run in `worktree` (a worktree of `repo`). With a
    `share` it may commit on its branch; without, the git metadata is read-only (the
    setup and check commands)."""
    binds: list[Bind] = []
    env = {"TMPDIR": "/tmp", "XDG_CACHE_HOME": "/tmp/.cache"}
    if share is not None:
        binds += share.binds()
        env |= share.env()
    else:
        _own, common = worktree_git_dirs(worktree)
        binds.append(Bind(source=common, target=common))
    binds.append(Bind(source=worktree, target=worktree, writable=True))
    binds += extra_binds(paths or [])
    return SandboxPlan(
        cwd=worktree,
        hidden=hidden_places(data_dir, repo),
        binds=binds,
        network=network,
        env=env,
    )
