"""The one way Seedbed runs git: an argv list as our own subprocess, never a shell string.

Every function in `vcs` blocks; the engine calls them on threads. Git always gets
``-C <dir>``, so a missing directory makes git fail instead of running elsewhere.

No git may hang Seedbed (a hook or a clean/smudge filter of the repository can): each
runs in its own session, so that its process group holds git and every hook and filter
it started, under a time limit (`git_timeout`). A call belongs to the `GitScope` current
in its context (a task's run, the engine): stopping the scope cuts its git too.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path

from seedbed.domain.errors import OperationError, UserError

SEEDBED_IDENTITY = ("Seedbed", "seedbed@localhost")

# For commits made unattended: no hook, no signing (so no pinentry) may ever block them.
UNATTENDED = ("-c", f"core.hooksPath={os.devnull}", "-c", "commit.gpgsign=false")
PATHS_RAW = ("-c", "core.quotepath=off")
# Pin what user config could change about a diff that is parsed or shown as text.
DIFF_OPTIONS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "-M",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)
# No command of ours may wait for a password or an editor; git's messages are parsed in
# places, so they are in English whatever the user's locale.
_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_EDITOR": ":",
    "GIT_SEQUENCE_EDITOR": ":",
    "LANGUAGE": "C",
    "LC_ALL": "C",
}
TIMEOUT_VARIABLE = "SEEDBED_GIT_TIMEOUT"
DEFAULT_TIMEOUT_S = 300.0
STOP_GRACE_S = 3.0  # how long the git of a stopped scope may still take to finish
_KILL_GRACE_S = 1.0  # SIGTERM (git then removes its lock files), then SIGKILL
_POLL_S = 0.1  # how often a waiting call looks whether its scope was stopped
HANG_CAUSE = "a hook or a clean/smudge filter of this repository may hang"


class GitError(OperationError):
    """A git command exited non-zero; keeps status and output for callers that branch on them."""

    def __init__(self, message: str, status: int, stdout: str, stderr: str) -> None:
        super().__init__(message)
        self.status = status
        self.stdout = stdout
        self.stderr = stderr


class GitCut(GitError):
    """A git that did not finish: it ran out of time, or its scope was stopped. Its group
    was killed; the message is the one sentence saying which command, where and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, -1, "", "")


class GitScope:
    """The git calls that are stopped together: the engine's, one task's runs (a child of
    the engine's). Thread-safe: stopped from the engine loop, read by the git threads.

    A stopped scope (or one whose parent stopped) gives each of its calls `STOP_GRACE_S`
    more to finish, then kills it. With `remember_cuts`, the first call cut (stopped or
    out of time) fails every later call of the scope at once with the same sentence: the
    repository hangs, and a run's next git would hang the same way.
    """

    def __init__(self, parent: GitScope | None = None, remember_cuts: bool = False) -> None:
        self.parent = parent
        self.remember_cuts = remember_cuts
        # What each git of the scope carries in its environment (a run's marker: git runs
        # in a session of its own, so that recovery finds what a killed engine left).
        self.env: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stopped: tuple[float, str] | None = None
        self._cut = ""

    def stop(self, cause: str) -> None:
        """Cut this scope's git (after the grace); `cause` ends the sentence saying so."""
        with self._lock:
            if self._stopped is None:
                self._stopped = (time.monotonic(), cause)

    def stopped(self) -> tuple[float, str] | None:
        """When and why this scope or one above it was stopped (the earliest)."""
        with self._lock:
            own = self._stopped
        above = self.parent.stopped() if self.parent is not None else None
        if own is None or (above is not None and above[0] <= own[0]):
            return above
        return own

    @property
    def cut(self) -> str:
        """The sentence of the call that was cut first ("" while none was remembered)."""
        with self._lock:
            return self._cut

    def note_cut(self, sentence: str) -> None:
        if self.remember_cuts:
            with self._lock:
                self._cut = self._cut or sentence


_SCOPE: ContextVar[GitScope | None] = ContextVar("seedbed_git_scope", default=None)


def current_scope() -> GitScope | None:
    return _SCOPE.get()


@contextlib.contextmanager
def git_scope(scope: GitScope | None) -> Iterator[None]:
    """Git run in this context (threads started with a copy of it too) is `scope`'s."""
    token = _SCOPE.set(scope)
    try:
        yield
    finally:
        _SCOPE.reset(token)


def git_timeout() -> float:
    """Seconds any one git call may take: `SEEDBED_GIT_TIMEOUT`, read at each call."""
    text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise UserError(f"{TIMEOUT_VARIABLE} must be a number of seconds above 0, not {text!r}")
    return value


def run_git(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    check: bool = True,
) -> str:
    """Run git in `cwd`; return stdout. Undecodable bytes become surrogates so paths round-trip.

    Raises GitCut when it ran out of time or its scope was stopped (`check` or not)."""
    scope = _SCOPE.get()
    if scope is not None and scope.cut:
        raise GitCut(scope.cut)
    limit = git_timeout()
    try:
        process = subprocess.Popen(
            ["git", "-C", str(cwd), *args],
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **_ENV, **(scope.env if scope else {}), **(env or {})},
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise OperationError("git is not installed or not on PATH") from exc
    try:
        out, err = _wait(process, input, limit, scope, f"git {_subcommand(args)}", cwd)
    except BaseException:  # Ctrl+C in a CLI included: no git of ours is left behind
        _end(process)
        raise
    status = process.returncode
    stdout = out.decode("utf-8", "surrogateescape")
    stderr = err.decode("utf-8", "surrogateescape").removesuffix("\n")
    if check and status != 0:
        detail = stderr.strip() or f"exit status {status}"
        raise GitError(f"git {_subcommand(args)} failed: {detail}", status, stdout, stderr)
    return stdout


def _wait(
    process: subprocess.Popen[bytes],
    input: str | None,
    limit: float,
    scope: GitScope | None,
    command: str,
    cwd: Path,
) -> tuple[bytes, bytes]:
    """The output of `process` once it ended; cut (GitCut) at its deadline: the time
    limit, or the grace after its scope stopped."""
    started = time.monotonic()
    data = input.encode() if input is not None else None
    while True:
        deadline = started + limit
        sentence = f"{command} did not finish within {limit:g} s in {cwd}: {HANG_CAUSE}"
        stop = scope.stopped() if scope is not None else None
        if stop is not None and max(stop[0], started) + STOP_GRACE_S < deadline:
            deadline = max(stop[0], started) + STOP_GRACE_S
            sentence = f"{command} was cut short in {cwd}: {stop[1]}"
        left = deadline - time.monotonic()
        if left <= 0:
            _end(process)
            if scope is not None:
                scope.note_cut(sentence)
            raise GitCut(sentence)
        try:
            # Input goes with the first wait only; later ones go on writing what is left.
            out, err = process.communicate(data, timeout=min(left, _POLL_S))
        except subprocess.TimeoutExpired:
            data = None
            continue
        return out or b"", err or b""


def _end(process: subprocess.Popen[bytes]) -> None:
    """Kill the process group of a git that is still running, and reap it."""
    if process.returncode is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        # The group lives while git is unreaped (a zombie keeps it): no stranger's.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=_KILL_GRACE_S)
            return
    # Something that left the group (a daemonising hook) still holds git's pipes.
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    process.wait()


def _subcommand(args: tuple[str, ...]) -> str:
    rest = list(args)
    while rest and rest[0] == "-c":
        rest = rest[2:]
    return rest[0] if rest else ""


def check_name(value: str, what: str) -> None:
    """Refuse names git would read as an option (argument injection) or that cannot be refs."""
    if not value or value.startswith("-") or any(c in value for c in "\0\n\r"):
        raise UserError(f"{value!r} is not a valid {what}")


def absolute(path: Path) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def identity_env(name: str, email: str) -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


_IDENT = re.compile(r"(?P<name>.*) <(?P<email>.*)> \d+ [+-]\d{4}")


def parse_ident(line: str) -> tuple[str, str] | None:
    """Name and email of a `git var GIT_*_IDENT` line (`Name <email> 1700000000 +0100`)."""
    match = _IDENT.fullmatch(line.strip())
    return (match["name"], match["email"]) if match else None


def _resolved(repo: Path, variable: str) -> tuple[str, str] | None:
    # useConfigOnly: only what the user set (the environment, the repository's or the
    # global config), never a name and email git would guess from the machine.
    out = run_git(repo, "-c", "user.useConfigOnly=true", "var", variable, check=False)
    return parse_ident(out)


def configured_identity(repo: Path) -> tuple[str, str] | None:
    """Who authors a commit in `repo`, as git resolves it there (GIT_AUTHOR_* in the
    environment, then author.* / user.* of the repository's, then the global config);
    None when the user configured none."""
    return _resolved(repo, "GIT_AUTHOR_IDENT")


def commit_identity(repo: Path) -> dict[str, str]:
    """The environment for a commit Seedbed makes in `repo`: authored and committed as
    the identity the user configured for it, or as Seedbed where there is none."""
    author = configured_identity(repo)
    if author is None:
        return identity_env(*SEEDBED_IDENTITY)
    name, email = _resolved(repo, "GIT_COMMITTER_IDENT") or author
    return {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def seedbed_identity_note(repo: Path) -> str:
    """What the log and doctor say when `repo` has no identity of the user's."""
    name, email = SEEDBED_IDENTITY
    return f"no git identity configured in {repo}: commits are authored as {name} <{email}>"
