"""The plan of a run's sandbox, from where the run is and what its profile allows.

Hidden: the home, the run-time dir (the session bus, the keyring, the SSH agent live
there), Seedbed's data dir (other tasks' worktrees, the database, the engine's socket),
the main checkout and every other project's Seedbed knows. Seen again: the run's
worktree (writable), the repository's git dir (read-only, but the run's own pieces:
sandbox/gitshare.py) and the paths the profile and project add.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

import seedbed
from seedbed.domain.errors import UserError
from seedbed.domain.models import SandboxNetwork
from seedbed.sandbox.gitconfig import sandbox_copy
from seedbed.sandbox.gitshare import GitShare, worktree_git_dirs
from seedbed.sandbox.plan import SANDBOX_TMP, Bind, SandboxPlan
from seedbed.sandbox.programs import program_binds
from seedbed.sandbox.relay import PROXY_PORT
from seedbed.vcs.runner import commit_identity

# Set to the relay's port inside: most HTTP clients (curl, pip, npm, Python's, Node's
# undici with its env proxy, Rust's reqwest) read one of these.
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY")

WRITABLE_PREFIX = "rw:"


def entry_path(entry: str) -> Path | None:
    """The path of a `PATH` or `rw:PATH` entry (`~` the home); None for an empty one."""
    text = entry.removeprefix(WRITABLE_PREFIX).strip()
    return Path(text).expanduser().absolute() if text else None


def path_problem(entry: str, guarded: dict[Path, str]) -> str:
    """Why the sandbox path `entry` cannot be added ("" if it can): a relative path, or
    one that is or holds a place the sandbox keeps hidden (`guarded`: each place and
    what it is, e.g. the home, Seedbed's data dir, the main checkout). A directory
    inside the home (a package cache) is what the setting is for; the home itself, or
    `/`, would show all of it."""
    text = entry.removeprefix(WRITABLE_PREFIX).strip()
    if not text:
        return ""
    if not (text.startswith("/") or text == "~" or text.startswith("~/")):
        return f"{text!r} is not an absolute path (or ~/…)"
    path = entry_path(entry)
    assert path is not None
    if path == Path("/"):
        return f"{text} is the whole file system: name the directories it needs"
    for place, what in guarded.items():
        if place.is_relative_to(path):
            shown = "is" if place == path else "holds"
            return (
                f"{text} {shown} {what} ({place}), which the sandbox hides: name a "
                "directory inside it, or beside it"
            )
        if what.startswith("Seedbed's") and path.is_relative_to(place):
            return f"{text} is inside {what} ({place}), which the sandbox hides"
    return ""


def guarded_places(
    data_dir: Path | None = None, repo: Path | None = None, others: Sequence[Path] = ()
) -> dict[Path, str]:
    """The places no sandbox path may show: the home, Seedbed's data dir, the main
    checkout and the `others` projects' (where known)."""
    places = {Path.home().absolute(): "your home"}
    if data_dir is not None:
        places[data_dir.absolute()] = "Seedbed's data dir"
    for other in others:
        places.setdefault(other.absolute(), "another project's main checkout")
    if repo is not None:
        places[repo.absolute()] = "the project's main checkout"
    return places


def extra_binds(
    paths: list[str],
    data_dir: Path | None = None,
    repo: Path | None = None,
    others: Sequence[Path] = (),
) -> list[Bind]:
    """`PATH` (read-only) and `rw:PATH` (writable) entries as binds; `~` is the home.
    Paths that do not exist are left out (bubblewrap cannot bind them). One that would
    show a hidden place (`path_problem`, saved before the check existed, or holding a
    project added since) raises a UserError saying which."""
    binds: list[Bind] = []
    guarded = guarded_places(data_dir, repo, others)
    for entry in paths:
        problem = path_problem(entry, guarded)
        if problem:
            raise UserError(f"the sandbox path {problem}")
        path = entry_path(entry)
        if path is not None and path.exists():
            binds.append(Bind(source=path, target=path, writable=entry.startswith(WRITABLE_PREFIX)))
    return binds


# Where the system's Unix sockets live (a read-only mount does not keep a process from
# connecting to one): docker's, the system bus, snapd's, cups'.
SOCKET_PLACES = (Path("/run"), Path("/var/run"), Path("/var/tmp"))


def hidden_places(data_dir: Path, repo: Path, others: Sequence[Path] = ()) -> list[Path]:
    """The directories the sandbox sees empty (and read-only): the home, the data dir,
    the main checkout, `others` (every project's), the run-time dir, the socket places.
    A place inside another comes after it (its empty directory is made in the other's)."""
    places = [Path.home(), data_dir, repo, *others]
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    places.append(Path(runtime))
    places += [place for place in SOCKET_PLACES if place.is_dir() and not place.is_symlink()]
    seen: list[Path] = []
    for place in places:
        place = place.absolute()
        if place != Path("/") and place not in seen:
            seen.append(place)
    return sorted(seen, key=lambda place: len(place.parts))


def run_plan(
    worktree: Path,
    data_dir: Path,
    repo: Path,
    network: SandboxNetwork,
    share: GitShare | None = None,
    paths: list[str] | None = None,
    proxy_dir: Path | None = None,
    allowed: list[str] | None = None,
    forwards: list[tuple[str, int]] | None = None,
    others: Sequence[Path] = (),
) -> SandboxPlan:
    """The sandbox of a process of a run in `worktree` (a worktree of `repo`); the main
    checkouts of `others` (the other projects) are hidden with its own. With a
    `share` it may commit on its branch; without, the git metadata is read-only (the
    setup and check commands). With network `model`, its way out is the proxy whose
    socket goes in `proxy_dir`, which lets through the `allowed` hosts; `forwards` are the
    loopback addresses (a local model server) it reaches as if they were its own."""
    binds: list[Bind] = []
    env = {"TMPDIR": "/tmp", "XDG_CACHE_HOME": "/tmp/.cache"}
    # The home's git config is hidden with the home: an agent that commits does so as the
    # identity the user configured for this repository (as Seedbed's own commits do).
    env |= commit_identity(repo)
    own, common = worktree_git_dirs(worktree, repo)
    if share is not None:
        binds += share.binds()
        env |= share.env()
    else:
        binds.append(Bind(source=common, target=common))
    # Its shared config as a copy without credentials (a token in a remote's URL).
    safe = sandbox_copy(common, data_dir / "sandbox" / "gitconfig")
    if safe is not None:
        binds.append(Bind(source=safe, target=common / "config"))
    binds.append(Bind(source=worktree, target=worktree, writable=True))
    binds += git_links(worktree, own)
    extra = extra_binds(paths or [], data_dir, repo, others)
    binds += extra
    hidden = hidden_places(data_dir, repo, others)
    # /dev is the sandbox's own, the worktree its own to use; /tmp is fresh, as hiding
    # as a hidden place (but for the paths added there).
    keep = [worktree, Path("/dev"), Path("/proc")]
    binds += socket_blanks([*hidden, SANDBOX_TMP], keep, [bind.source for bind in extra])
    if network is SandboxNetwork.FULL:  # its name servers, where /run holds the file
        resolver = Path("/etc/resolv.conf").resolve()
        if resolver.is_file() and any(resolver.is_relative_to(h) for h in hidden):
            binds.append(Bind(source=resolver, target=resolver))
    # Seedbed's own helpers inside (the relay; the MCP shim, in every network mode).
    relay = relay_binds(hidden)
    if network is SandboxNetwork.MODEL:
        if getattr(sys, "frozen", False):  # the bundle starts as a new instance of itself
            env["PYINSTALLER_RESET_ENVIRONMENT"] = "1"
        env |= dict.fromkeys(PROXY_VARIABLES, f"http://127.0.0.1:{PROXY_PORT}")
        env |= dict.fromkeys(("NO_PROXY", "no_proxy"), "localhost,127.0.0.1,::1")
    return SandboxPlan(
        cwd=worktree,
        hidden=hidden,
        binds=binds,
        network=network,
        proxy_dir=proxy_dir if network is SandboxNetwork.MODEL else None,
        allowed=list(allowed or []),
        forwards=list(forwards or []),
        relay_binds=relay,
        env=env,
    )


MAX_SOCKETS = 500  # sockets blanked one by one at most (beyond the hidden places)


def socket_blanks(hidden: list[Path], keep: list[Path], shown: list[Path]) -> list[Bind]:
    """/dev/null over each listening Unix socket of this machine's file system outside
    the hidden places and `keep` (a read-only mount keeps no one from connecting to a
    socket: lxd's in /var/snap, nix's daemon, one in a path the profile adds). From
    /proc/net/unix. A hidden place hides its sockets, but for the paths `shown` again."""
    try:
        lines = Path("/proc/net/unix").read_text().splitlines()[1:]
    except OSError:
        return []
    blanks: list[Bind] = []
    for line in lines:
        fields = line.split()
        if len(fields) < 8 or not fields[7].startswith("/"):
            continue  # an abstract or unnamed socket: out of reach without the network
        path = Path(fields[7])
        if any(path.is_relative_to(place) for place in keep):
            continue
        if any(path.is_relative_to(place) for place in hidden) and not any(
            path.is_relative_to(place) for place in shown
        ):
            continue
        try:
            is_socket = stat.S_ISSOCK(path.lstat().st_mode)
        except OSError:
            continue
        bind = Bind(source=Path(os.devnull), target=path)
        if is_socket and bind not in blanks:
            blanks.append(bind)
        if len(blanks) >= MAX_SOCKETS:
            break
    return blanks


def git_links(worktree: Path, own: Path) -> list[Bind]:
    """Read-only, over the writable worktree and its own git dir: what tells git where a
    worktree's repository and config are (`.git`, `commondir`, `gitdir`,
    `config.worktree`). Written by an agent, they would lead the engine's own git (its
    live diff, its commit, outside the sandbox) to a repository and config the agent made,
    and to a program it names (core.fsmonitor)."""
    config = own / "config.worktree"
    if not config.exists():
        config.touch()  # git reads it only with extensions.worktreeConfig: kept empty
    pieces = [worktree / ".git", own / "commondir", own / "gitdir", config]
    return [Bind(source=path, target=path) for path in pieces if path.exists()]


def relay_binds(hidden: list[Path]) -> list[Bind]:
    """What the relay needs to run inside: this Python, its environment and Seedbed's
    package, read-only, where a hidden place or the sandbox's fresh /tmp would hide
    them."""
    package = Path(seedbed.__file__).resolve().parent.parent
    places = [Path(sys.prefix), Path(sys.base_prefix), package]
    binds = program_binds([sys.executable], hidden)
    unseen = [*hidden, SANDBOX_TMP]
    for place in places:
        bind = Bind(source=place, target=place)
        if any(place.is_relative_to(h) for h in unseen) and bind not in binds:
            binds.append(bind)
    return binds
