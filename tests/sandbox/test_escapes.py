"""Escapes a sandboxed agent must not make, tried from inside by a real command agent run
by the real engine under real bubblewrap; and the work it must still be able to do.

The agent is a shell script committed in the repository: it tries each escape and writes
"NAME: ESCAPED" or "NAME: blocked" into report.txt in its worktree; the test also looks at
each escape's effect from outside.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from seedbed.sandbox.bwrap import sandbox_support
from tests.conftest import SeedbedCli, git, make_repo
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer, answer

pytestmark = pytest.mark.skipif(
    not sandbox_support().works, reason=f"no sandbox here: {sandbox_support().problem}"
)

ESCAPES = (Path(__file__).parent / "escapes.sh").read_text()
NAMES = [
    "home_write",
    "ssh_read",
    "other_worktree",
    "main_checkout",
    "move_base",
    "push",
    "shared_config",
    "engine_environment",
    "provider_key",
    "config_secret",  # a token in the repository's shared config (a remote's URL)
    "service_token",  # another service's credential (GH_TOKEN, GITHUB_PAT, a URL's password)
    "unknown_provider_key",  # a provider's key Seedbed does not know of (MISTRAL_API_KEY)
    "dbus",
    "other_server",
    "gitfile",  # would lead the engine's own git (outside) to a repository of its making
    "commondir",
    "worktree_config",
    "host_socket",  # a system socket under /var/tmp or /run (docker's, the system bus)
    "other_socket",  # one anywhere else on the machine (lxd's in /var/snap, nix's)
    "capabilities",  # none kept, even where Seedbed runs as root
]


def processes_saying(word: str) -> list[int]:
    """The pids whose command line holds `word` (from /proc: no pgrep needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if word.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@contextlib.contextmanager
def listening(path: Path) -> Iterator[Path]:
    """A listening Unix socket at `path` for as long as the block runs."""
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    try:
        yield path
    finally:
        listener.close()
        path.unlink(missing_ok=True)


@pytest.fixture
def host_socket() -> Iterator[Path]:
    """Where system sockets live (as docker's does in /run)."""
    with listening(Path("/var/tmp") / f"seedbed-test-{secrets.token_hex(6)}.sock") as path:
        yield path


@pytest.fixture
def other_socket() -> Iterator[Path]:
    """Outside every hidden place: /var/cache, or (a user who may not write there) the
    source checkout, which lies outside the test's home and temporary directory."""
    places = [Path("/var/cache"), Path(__file__).resolve().parents[2]]
    place = next(p for p in places if os.access(p, os.W_OK))
    with listening(place / f"seedbed-test-{secrets.token_hex(6)}.sock") as path:
        yield path


@pytest.fixture
def bus_socket(tmp_path: Path) -> Iterator[Path]:
    """Standing for the session bus (a path under /tmp, as dbus-daemon makes one)."""
    with listening(tmp_path / "bus") as path:
        yield path


@pytest.mark.parametrize(
    ("kind", "network"), [("command", "none"), ("command", "model"), ("builtin", "model")]
)
def test_a_sandboxed_agent_escapes_nothing_and_still_commits(
    seedbed: SeedbedCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    other_server: str,
    bus_socket: Path,
    host_socket: Path,
    other_socket: Path,
    model_server: ModelServer,
    file_keyring: FileStore,
    kind: str,
    network: str,
) -> None:
    """From a command agent, and from the built-in agent's run_command; with no network
    and with the model network (its proxy allows nothing here)."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("SECRET key\n")
    monkeypatch.setenv("HOME", str(home))
    token = secrets.token_hex(6)
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n", "escape.sh": ESCAPES})
    git(repo, "remote", "add", "origin", "https://x-access-token:ghp_config_secret@github.com/o/r")
    git(repo, "config", "http.https://github.com/.extraheader", "AUTHORIZATION: header_secret")
    config_before = (repo / ".git" / "config").read_text()
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    other = tmp_path / "data" / "worktrees" / "demo" / "9-other"
    other.mkdir(parents=True)
    (other / "README.md").write_text("another task's work\n")
    for name, value in {
        "OPENAI_API_KEY": "sk-not-for-you",
        "GH_TOKEN": "ghp_not_for_you",
        "AWS_SECRET_ACCESS_KEY": "aws-not-for-you",
        "GITHUB_PAT": "github-not-for-you",
        "DATABASE_URL": "postgres://me:pw-not-for-you@db.example/app",
        "MISTRAL_API_KEY": "mistral-not-for-you",
        "KEPT_TOKEN": "kept-on-purpose",
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={bus_socket}",
        "OTHER_WORKTREE": str(other),
        "MAIN_CHECKOUT": str(repo),
        "REMOTE": str(remote),
        "BUS_SOCKET": str(bus_socket),
        "HOST_SOCKET": str(host_socket),
        "OTHER_SOCKET": str(other_socket),
        "OTHER_SERVER": other_server,
        "MARK": token,
    }.items():
        monkeypatch.setenv(name, value)
    base = git(repo, "rev-parse", "main").strip()
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    boxed = ("--sandbox", "--network", network, "--sandbox-env", "KEPT_TOKEN")
    if kind == "command":
        command = ("--kind", "command", "--command", "sh escape.sh")
        seedbed.ok("profile", "add", "boxed", *command, *boxed)
    else:
        seedbed.ok("key", "set", "openai", input="sk-test-key")
        seedbed.ok(
            "profile", "add", "boxed", "--kind", "builtin", "--provider", "openai",
            "--model", "test-model", "--base-url", model_server.openai_url,
            "--key-name", "openai", *boxed,
        )  # fmt: skip
        model_server.script(
            answer(tool_calls=[("call_1", "run_command", {"command": "sh escape.sh"})]),
            answer("Tried them all."),
        )
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Try", "--profile", "boxed", "--start"
    ).out.strip()

    seedbed.ok("run", "--until-idle")

    task = seedbed.show(int(task_id))
    branch = task["branch"]
    report = git(repo, "show", f"{branch}:report.txt")
    said = dict(line.split(": ", 1) for line in report.splitlines())
    assert {name: said.get(name) for name in NAMES} == dict.fromkeys(NAMES, "blocked"), report
    assert said.get("commit") == "done", report
    assert said.get("kept") == "done", report  # a variable the profile keeps on purpose
    # Nothing of it outside, either.
    assert not (home / "escaped").exists()
    # What it left in its worktree's git dir for the engine's git to write through (its
    # snapshot commit of after.txt, appending to the reflog, writing COMMIT_EDITMSG).
    assert not (home / "escaped-reflog").exists() and not (home / "escaped-message").exists()
    assert git(repo, "show", f"{branch}:after.txt") == "after the links\n"
    assert (other / "README.md").read_text() == "another task's work\n"
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "rev-parse", "main").strip() == base
    assert git(remote, "branch", "--list") == ""
    assert (repo / ".git" / "config").read_text() == config_before
    assert not processes_saying(f"left-behind-{token}"), "a process it started outlived the run"
    # A submodule it staged, with an fsmonitor of its own: the engine's git (outside)
    # must never run it.
    assert not Path(f"/tmp/fsmonitor-ran-{token}").exists()
    # The log says what the sandbox refused, naming it.
    said_so = f"sandbox: refused writing {home}/said-so (read-only in the sandbox"
    logged = seedbed.log_events(int(task_id))
    texts = [str(e.get("message") or e.get("output") or "") for e in logged]
    assert any(said_so in text for text in texts), texts
    withheld = (
        "withheld: AWS_SECRET_ACCESS_KEY, DATABASE_URL, GH_TOKEN, GITHUB_PAT, MISTRAL_API_KEY, "
        "OPENAI_API_KEY (a profile or project keeps one"
    )
    assert any(withheld in text for text in texts), texts
    # Its own commit reached its branch (the engine's snapshot commit follows it).
    log = git(repo, "log", "--format=%s", f"{base}..{branch}")
    assert "the agent commits by itself" in log
    assert git(repo, "show", f"{branch}:made.txt") == "works\n"
