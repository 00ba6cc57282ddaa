"""The one way Seedbed runs git: an argv list as our own subprocess, never a shell string.

Every function in `vcs` blocks; the engine calls them on threads. Git always gets
``-C <dir>``, so a missing directory makes git fail instead of running elsewhere.

No git may hang Seedbed (a hook or a clean/smudge filter of the repository can): each
runs in its own session, so that its process group holds git and every hook and filter
it started, under a time limit (`git_timeout`). A call belongs to the `GitScope` current
in its context (a task's run, the engine): stopping the scope cuts the git it is
running, winding it down cuts its git that stopped working (docs/decisions.md).
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
# And no program a repository names runs under our git: not an fsmonitor (a submodule an
# agent staged may name one, which our `status` would start), and not by looking inside
# a submodule's working tree at all (its filters, its hooks): as command-line config,
# these win over any file's and reach the gits git itself starts.
_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_EDITOR": ":",
    "GIT_SEQUENCE_EDITOR": ":",
    "LANGUAGE": "C",
    "LC_ALL": "C",
    "GIT_CONFIG_COUNT": "2",
    "GIT_CONFIG_KEY_0": "core.fsmonitor",
    "GIT_CONFIG_VALUE_0": "false",
    "GIT_CONFIG_KEY_1": "diff.ignoreSubmodules",
    "GIT_CONFIG_VALUE_1": "dirty",
}
# Who started a git: "PIDNAMESPACE|PID|STARTTIME" of the Seedbed process (a pid alone is
# recycled, and means something only in its own namespace).
# Git runs in a session of its own and outlives a Seedbed process killed with its group;
# recovery ends the git whose owner is gone (`end_orphaned_git`).
OWNER_VARIABLE = "SEEDBED_GIT_OWNER"
TIMEOUT_VARIABLE = "SEEDBED_GIT_TIMEOUT"
DEFAULT_TIMEOUT_S = 1800.0
IDLE_S = 3.0  # how long the git of a scope winding down may show no sign of work
# How long a scope winds down at most: a hook that polls (a lock, a retried request)
# shows signs of work for ever, and a stop or shutdown must end all the same.
WIND_DOWN_LIMIT_S = 60.0
_KILL_GRACE_S = 1.0  # SIGTERM (git then removes its lock files), then SIGKILL
_POLL_S = 0.1  # how often a waiting call looks whether its scope was stopped
_PROGRESS_EVERY_S = 0.5  # how often a call of a scope winding down looks for signs of work
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

    `stop` cuts the calls the scope (or one below it) is running at that moment: a hung
    one; a call made after it (the snapshot commit of a stopped run) has the time limit,
    and only a later stop cuts it. `wind_down` (the engine's shutdown) cuts each call,
    running or to come, once it has shown no sign of work for `IDLE_S`: a hung git goes,
    a slow one that works finishes. With `remember_cuts`, the first call that hung (out
    of time, or idle while winding down) fails every later call of the scope at once with
    the same sentence: the repository hangs, and a run's next git would hang the same way.
    A call cut by a stop is not remembered: the commit the stop then makes must run.
    """

    def __init__(self, parent: GitScope | None = None, remember_cuts: bool = False) -> None:
        self.parent = parent
        self.remember_cuts = remember_cuts
        # What each git of the scope carries in its environment (a run's marker: git runs
        # in a session of its own, so that recovery finds what a killed engine left).
        self.env: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stops: list[tuple[float, str]] = []
        self._winding: tuple[float, str] | None = None
        self._cut = ""

    def stop(self, cause: str) -> None:
        """Cut the git running now; `cause` ends the sentence saying so."""
        with self._lock:
            self._stops.append((time.monotonic(), cause))

    def wind_down(self, cause: str) -> None:
        """From now on, cut each git that shows no sign of work for `IDLE_S`."""
        with self._lock:
            if self._winding is None:
                self._winding = (time.monotonic(), cause)

    def stop_since(self, started: float) -> str:
        """Why a call started at `started` is to be cut: the cause of the first stop of
        this scope or one above it that came since ("" while none did)."""
        with self._lock:
            own = [stop for stop in self._stops if stop[0] >= started]
        above = self.parent.stop_since(started) if self.parent is not None else ""
        return min(own)[1] if own else above

    def winding(self) -> tuple[float, str] | None:
        """When and why this scope or one above it began winding down (the earliest)."""
        with self._lock:
            own = self._winding
        above = self.parent.winding() if self.parent is not None else None
        if own is None or (above is not None and above[0] <= own[0]):
            return above
        return own

    @property
    def cut(self) -> str:
        """The sentence of the call that hung first ("" while none was remembered)."""
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
            env={
                **os.environ,
                **_ENV,
                OWNER_VARIABLE: _owner(os.getpid()),
                **(scope.env if scope else {}),
                **(env or {}),
            },
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
    """The output of `process` once it ended; cut (GitCut) at its time limit, at a stop
    of its scope, or when it stopped working while its scope winds down."""
    started = time.monotonic()
    deadline = started + limit
    data = input.encode("utf-8", "surrogateescape") if input is not None else None
    working: tuple[int, float] | None = None  # its last sign of work, and when it was seen
    sampled = 0.0
    while True:
        now = time.monotonic()
        sentence = ""
        hung = True  # remembered by its scope: the repository hangs
        if now >= deadline:
            sentence = f"{command} did not finish within {limit:g} s in {cwd}: {HANG_CAUSE}"
        elif scope is not None and (cause := scope.stop_since(started)):
            sentence, hung = f"{command} was cut short in {cwd}: {cause}", False
        elif scope is not None and (winding := scope.winding()) is not None:
            if now - winding[0] >= WIND_DOWN_LIMIT_S:
                sentence = (
                    f"{command} was cut short in {cwd}: {winding[1]}, "
                    f"and it was still running {WIND_DOWN_LIMIT_S:g} s later"
                )
                hung = False  # it may have been working: a later call is not refused
            else:
                if working is None or now - sampled >= _PROGRESS_EVERY_S:
                    work, sampled = _work_done(process.pid), now
                    if working is None:
                        working = (work, max(winding[0], started))
                    elif work != working[0]:
                        working = (work, now)
                if now - working[1] >= IDLE_S:
                    sentence = (
                        f"{command} was cut short in {cwd}: {winding[1]}, "
                        f"and it had done nothing for {IDLE_S:g} s"
                    )
        if sentence:
            _end(process)
            if scope is not None and hung:
                scope.note_cut(sentence)
            raise GitCut(sentence)
        try:
            # Input goes with the first wait only; later ones go on writing what is left.
            out, err = process.communicate(data, timeout=min(deadline - now, _POLL_S))
        except subprocess.TimeoutExpired:
            data = None
            continue
        return out or b"", err or b""


def _work_done(session: int) -> int:
    """A count that grows while the processes of `session` (git, its hooks and filters)
    work: their CPU time (their reaped children's too) and the bytes they read and
    wrote, files, pipes and sockets alike. Without /proc it never grows."""
    total = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                if int(fields[3]) != session:
                    continue
                total += sum(int(tick) for tick in fields[11:15])
                for line in Path(entry.path, "io").read_text().splitlines():
                    name, _, value = line.partition(":")
                    if name in ("rchar", "wchar"):
                        total += int(value)
            except (OSError, ValueError, IndexError):
                continue
    return total


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


def _pid_namespace(pid: int | str = "self") -> str:
    """The pid namespace `pid` lives in ("" without /proc): a pid means something only
    inside its own (a Seedbed in a container or sandbox has pids of its own)."""
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return ""


def _stat(pid: int | str) -> tuple[str, list[str]]:
    """The command name and the fields after it of /proc/PID/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()


def _owner(pid: int) -> str:
    """The owner marker of process `pid`: its pid namespace, pid and start time ("" when
    it is gone, or without /proc)."""
    try:
        _, fields = _stat(pid)
    except OSError:
        return ""
    return f"{_pid_namespace(pid)}|{pid}|{fields[19]}"


def _orphaned_git(pid: str, prefix: bytes, namespace: str) -> bool:
    """Whether process `pid` is a git that Seedbed started (the leader of the session it
    was started in, so never a hook or a daemon that left it) whose Seedbed process is
    gone, in our own pid namespace."""
    name, fields = _stat(pid)
    if name != "git" or fields[3] != pid:
        return False
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    owner = next((v[len(prefix) :] for v in environ if v.startswith(prefix)), None)
    if owner is None:
        return False
    where, _, rest = owner.decode(errors="replace").partition("|")
    if where != namespace:
        return False  # another namespace's pid: not ours to judge
    return _owner(int(rest.partition("|")[0])) != owner.decode(errors="replace")


def end_orphaned_git() -> int:
    """End the git (with its hooks and filters: its session's group) that a Seedbed
    process left running when it was killed: SIGTERM to each such group, so that git
    removes its lock files (a killed approve held the user's index.lock), then SIGKILL.
    Only git itself is looked for (a hook's or a filter's own daemon that left git's
    session is never touched), by its owner marker naming a process of our pid namespace
    that no longer runs (Linux /proc; elsewhere none is found). How many were ended."""
    prefix = f"{OWNER_VARIABLE}=".encode()
    namespace = _pid_namespace()
    groups: set[int] = set()
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                if _orphaned_git(entry.name, prefix, namespace):
                    groups.add(int(entry.name))
    groups.discard(os.getpgid(0))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, sig)
        deadline = time.monotonic() + _KILL_GRACE_S
        while time.monotonic() < deadline and any(map(_group_alive, groups)):
            time.sleep(0.02)
    return len(groups)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
