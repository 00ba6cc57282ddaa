"""Shared fixtures: real git repositories, a data dir, and the CLI run in-process or as a
real subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Without a display Qt aborts the process; every test runs offscreen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from seedbed.cli import main
from seedbed.service import launch
from tests import keyring_backends
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer
from tests.secret_service import SecretService, secret_service_keyring
from tests.service.conftest import Engines

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
}


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A fresh HOME with no git config: no test sees the developer's own settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    # New profiles run unsandboxed unless a test asks (--sandbox), on every machine: a
    # test's agent may use files under /tmp, which a sandbox hides (tests/sandbox and the
    # default's own test turn it on).
    monkeypatch.setenv("SEEDBED_SANDBOX_DEFAULT", "off")
    # No engine keeps a ready window (a spare process importing Qt) unless a test asks:
    # tests/service/test_ready_window.py does.
    monkeypatch.setenv("SEEDBED_READY_WINDOW", "0")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in (
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_CONFIG_GLOBAL",
        "EMAIL",
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GOOGLE_GEMINI_BASE_URL",
        "SEEDBED_DATA_DIR",
        # A proxy of the developer's would stand between the tests and 127.0.0.1.
        *(f"{proxy}_proxy" for proxy in ("http", "https", "all", "no")),
        *(f"{proxy}_PROXY" for proxy in ("HTTP", "HTTPS", "ALL", "NO")),
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    # No test reads the developer's real keyring: a test that wants one asks for it.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    keyring_backends.forget_backend()
    return home


def git(cwd: Path, *args: str) -> str:
    """Run git for test set-up and inspection, failing loudly."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "-c", "init.defaultBranch=main", "init", "-q")
    git(path, "config", "user.name", "Test Author")
    git(path, "config", "user.email", "author@example.com")
    git(path, "config", "commit.gpgsign", "false")
    for name, text in (files or {"README.md": "# demo\n"}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial commit")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real git repository on branch main with one commit."""
    return make_repo(tmp_path / "repo", {"README.md": "# demo\n", "src/app.py": "print('hi')\n"})


@pytest.fixture(autouse=True)
def no_engine_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test whose window or command started an engine for its data dir (detached, as a
    user's does) has it stopped at the end: left, it would outlive the run (its data dir
    deleted under it by pytest's clean-up)."""
    data_dir = request.getfixturevalue("data_dir") if "data_dir" in request.fixturenames else None
    yield
    if data_dir is not None and launch.answering(data_dir) is not None:
        launch.stop(data_dir)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("SEEDBED_DATA_DIR", str(path))
    return path


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class SeedbedCli:
    """Runs `seedbed …` in this process (fast) against the test's data dir."""

    def __init__(self, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data_dir = data_dir
        self.capsys = capsys

    def __call__(self, *args: str | Path, input: str | None = None) -> Result:
        out = io.StringIO()
        self.capsys.readouterr()
        argv = ["--data-dir", str(self.data_dir), *map(str, args)]
        stdin = sys.stdin
        if input is not None:
            sys.stdin = io.StringIO(input)
        try:
            code = main(argv, out=out)
        except SystemExit as exc:  # argparse's own exits (usage errors, --help)
            code = int(exc.code or 0)
        finally:
            sys.stdin = stdin
        captured = self.capsys.readouterr()
        return Result(code, out.getvalue() + captured.out, captured.err)

    def ok(self, *args: str | Path, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.code == 0, f"seedbed {args} exited {result.code}: {result.err}"
        return result

    def log_events(self, task_id: int | str, *extra: str) -> list[dict[str, Any]]:
        """`task log ID --jsonl`, one dict per stored event."""
        out = self.ok("task", "log", str(task_id), "--jsonl", *extra).out
        return [json.loads(line) for line in out.splitlines()]

    def show(self, task_id: int | str) -> dict[str, Any]:
        return self.ok("task", "show", str(task_id), "--json").json()

    def spawn(self, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
        """`seedbed …` as a real separate process (for crash and concurrency tests)."""
        return subprocess.Popen(
            [sys.executable, "-m", "seedbed", "--data-dir", str(self.data_dir), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kwargs,
        )


@pytest.fixture
def seedbed(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[SeedbedCli]:
    yield SeedbedCli(data_dir, capsys)


@pytest.fixture
def project(seedbed: SeedbedCli, repo: Path) -> str:
    """The `repo` fixture added as project "demo"; returns its name."""
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    return "demo"


@pytest.fixture
def file_keyring(tmp_path: Path) -> Iterator[FileStore]:
    """FileKeyring (a JSON file) as the keyring of this process and of its subprocesses."""
    with keyring_backends.file_keyring(tmp_path / "keyring.json") as store:
        yield store


@pytest.fixture
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretService]:
    """A real, unlocked gnome-keyring-daemon on a private D-Bus session bus, selected as the
    keyring of this process and of its subprocesses; fails if the daemons are missing."""
    with secret_service_keyring(tmp_path_factory.mktemp("secret-service")) as service:
        yield service


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    """A real HTTP server on 127.0.0.1 speaking the OpenAI and Anthropic streaming wire
    formats, answering from a script (see tests/model_server.py)."""
    with ModelServer() as server:
        yield server
    assert not server.errors, "the model server failed:\n" + "\n".join(server.errors)


@pytest.fixture
def engines(data_dir: Path) -> Iterator[Engines]:
    """Engine processes of the data dir a test starts (`seedbed engine start`), all
    killed at the end."""
    tracker = Engines(data_dir)
    try:
        yield tracker
    finally:
        tracker.kill_all()
