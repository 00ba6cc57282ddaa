"""Issue 15, storage faults: a full disk under running agents, a database that is broken
or out of reach, backups of the database, and a data dir that is read-only.

Real size-limited tmpfs mounts (we are root in CI; elsewhere these tests skip and say
why), real SQLite files, real processes holding real locks.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from seedbed.app import run_gui
from seedbed.core.recorder import HELD_ROWS, HELD_TAIL, EventRecorder
from seedbed.domain.errors import UserError
from seedbed.domain.events import OutputEvent, StatusEvent
from seedbed.store import Store
from seedbed.ui.common.bridge import Bridge
from seedbed.ui.common.host import EngineHost
from tests.conftest import Result, SeedbedCli, git, make_repo

FILL_CHUNK = b"\0" * (1 << 20)


def mount(target: Path, size: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


def unmount(target: Path) -> None:
    done = subprocess.run(["umount", str(target)], capture_output=True, check=False)
    if done.returncode != 0:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


def remount(target: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(target)], check=True)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs, unmounted afterwards (read-write again first, so nothing sticks)."""
    target = tmp_path / "fs"
    mount(target, "24m")
    try:
        yield target
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(target)], capture_output=True)
        unmount(target)


@pytest.fixture
def fs_cli(
    tmpfs: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> SeedbedCli:
    """The CLI on a data dir inside the tmpfs (worktrees live there too)."""
    data = tmpfs / "data"
    data.mkdir()
    monkeypatch.setenv("SEEDBED_DATA_DIR", str(data))
    return SeedbedCli(data, capsys)


def fill(directory: Path) -> Path:
    """Write a file until the file system is full; its path (delete it to free space)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (FILL_CHUNK, FILL_CHUNK[:4096]):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, chunk)
    finally:
        os.close(fd)
    return filler


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def one_error_line(result: Result) -> str:
    """The command failed with exactly one `error:` line and no traceback."""
    assert result.code == 2, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    return lines[0]


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# -- a full disk ------------------------------------------------------------------------

CHATTY = """import time
while True:
    print("x" * 300, flush=True)
    time.sleep(0.005)
"""


@pytest.mark.parametrize("repo_on_the_full_disk", [False, True], ids=["repo-apart", "repo-on-it"])
def test_a_full_disk_fails_the_runs_and_the_engine_goes_on(
    fs_cli: SeedbedCli, tmpfs: Path, repo: Path, tmp_path: Path, repo_on_the_full_disk: bool
) -> None:
    """With the repository on the full disk too, git cannot commit: the work stays in
    the worktree, and the log says so."""
    seedbed = fs_cli
    if repo_on_the_full_disk:
        repo = make_repo(tmpfs / "repo")
    script = tmp_path / "chatty.py"
    script.write_text(CHATTY)
    chatty = f"echo work > work.txt; exec {sys.executable} {script}"
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    seedbed.ok("profile", "add", "chatty", "--kind", "command", "--command", chatty)
    seedbed.ok(
        "profile", "add", "quiet", "--kind", "command", "--command", "echo hello; echo a>a.txt"
    )
    tasks = [
        seedbed.ok(
            "task", "add", "--project", "demo", "--title", f"Chatty {n}", "--profile", "chatty",
            "--start",
        ).out.strip()
        for n in (1, 2)
    ]  # fmt: skip
    engine = seedbed.spawn("run")
    filler: Path | None = None
    try:

        def both_logging() -> bool:
            return all(
                seedbed.show(t)["phase"] == "implementing" and len(seedbed.log_events(t)) > 20
                for t in tasks
            )

        wait_for(both_logging, 60, "both agents to log")
        with contextlib.closing(sqlite3.connect(seedbed.data_dir / "seedbed.db")) as conn:
            pids = [row[0] for row in conn.execute("SELECT pid FROM runs ORDER BY id")]
        filler = fill(tmpfs)

        # The engine notices and ends both agents, whatever the disk lets it write.
        wait_for(lambda: not any(alive(p) for p in pids), 30, "the agents to be stopped")
        assert engine.poll() is None, engine.stderr.read() if engine.stderr else ""
        listed = seedbed("task", "list")
        assert listed.code == 0 and "Traceback" not in listed.err, listed.err
        added = one_error_line(
            seedbed("task", "add", "--project", "demo", "--title", "More", "--prompt", "x" * 20000)
        )
        assert "full" in added and str(seedbed.data_dir) in added, added
        started = time.monotonic()
        stop = seedbed("task", "stop", tasks[0])
        assert time.monotonic() - started < 20
        assert "Traceback" not in stop.err
        assert stop.code == 0 or stop.err.startswith("error: "), stop.err

        filler.unlink()
        filler = None

        def ended() -> bool:
            return all(seedbed.show(t)["state"] == "awaiting_review" for t in tasks)

        wait_for(ended, 30, "the runs' ends to be recorded once space is back")
        for task in tasks:
            shown = seedbed.show(task)
            run = shown["runs"][-1]
            assert run["status"] == "failed", run
            assert run["reason"].startswith("disk full: "), run
            assert shown["phase"] == "agent_failed", shown
            committed = "work.txt" in git(repo, "show", "--stat", shown["branch"])
            notes = [e.get("message") for e in seedbed.log_events(task)]
            assert notes.count("run 1 ended") == 1, notes
            if repo_on_the_full_disk and not committed:
                assert (Path(shown["worktree"]) / "work.txt").read_text() == "work\n"
                assert "could not commit: the work stays in the worktree" in notes
            else:
                assert committed

        # Logging resumes: a new run logs normally.
        fresh = seedbed.ok(
            "task", "add", "--project", "demo", "--title", "Quiet", "--profile", "quiet", "--start"
        ).out.strip()
        wait_for(lambda: seedbed.show(fresh)["state"] == "awaiting_review", 30, "the new run")
        assert seedbed.show(fresh)["phase"] == "ready"
        lines = [e.get("line") for e in seedbed.log_events(fresh)]
        assert "hello" in lines
    finally:
        if filler is not None:
            filler.unlink(missing_ok=True)
        engine.send_signal(signal.SIGTERM)
        try:
            _out, err = engine.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            engine.kill()
            _out, err = engine.communicate()
    assert "Traceback" not in err and "never retrieved" not in err, err
    assert engine.returncode == 0, err


def test_run_until_idle_on_a_full_disk_ends_saying_so(
    fs_cli: SeedbedCli, tmpfs: Path, repo: Path, tmp_path: Path
) -> None:
    """One slot: the first task logs until the disk fills and fails for it; the two
    queued behind it cannot start, and nothing else keeps the engine going."""
    seedbed = fs_cli
    script = tmp_path / "chatty.py"
    script.write_text(CHATTY)
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    seedbed.ok("profile", "add", "chatty", "--kind", "command", "--command",
               f"exec {sys.executable} {script}")  # fmt: skip
    seedbed.ok("profile", "add", "doer", "--kind", "command", "--command", "echo hi > hi.txt")
    for title, profile in (("Chatty", "chatty"), ("Second", "doer"), ("Third", "doer")):
        seedbed.ok("task", "add", "--project", "demo", "--title", title, "--profile", profile,
                   "--start")  # fmt: skip
    engine = seedbed.spawn("run", "--until-idle", "--max-parallel", "1")
    filler: Path | None = None
    try:

        def logging() -> bool:
            return seedbed.show(1)["phase"] == "implementing" and len(seedbed.log_events(1)) > 20

        wait_for(logging, 60, "the first agent to log")
        filler = fill(tmpfs)
        try:
            _out, err = engine.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            engine.kill()
            raise AssertionError("run --until-idle still waits on a full disk") from None
    finally:
        if filler is not None:
            filler.unlink()
        if engine.poll() is None:
            engine.kill()
            engine.communicate()
    last = err.strip().splitlines()[-1]
    assert "Traceback" not in err, err
    assert engine.returncode == 2, (engine.returncode, err)
    assert last == (
        f"error: the disk holding {seedbed.data_dir} is full: 2 queued tasks wait; "
        "free space and run again"
    ), err
    phases = [t["phase"] for t in seedbed.ok("task", "list", "--json").json()]
    assert phases[1:] == ["queued", "queued"], phases
    # With space back, running again records the first run's end and runs the others.
    seedbed.ok("run", "--until-idle", "--max-parallel", "1")
    tasks = seedbed.ok("task", "list", "--json").json()
    assert [t["state"] for t in tasks] == ["awaiting_review"] * 3, tasks
    assert [t["phase"] for t in tasks][1:] == ["ready", "ready"], tasks


# -- a database that is broken or out of reach ------------------------------------------

READS = [
    ("task", "list"),
    ("task", "show", "1"),
    ("task", "log", "1"),
    ("task", "diff", "1"),
    ("project", "list"),
    ("project", "show", "demo"),
    ("profile", "list"),
    ("profile", "show", "doer"),
    ("comment", "list", "1"),
]
WRITES = [
    ("task", "add", "--project", "demo", "--title", "Another"),
    ("project", "add", ".", "--name", "other"),
    ("task", "start", "1"),
    ("profile", "add", "p2", "--kind", "command", "--command", "true"),
    ("comment", "add", "1", "--file", "hi.txt", "--body", "why?"),
    ("task", "approve", "1"),
    ("task", "discard", "1"),
    ("run", "--until-idle"),
]


def filled_data_dir(seedbed: SeedbedCli) -> Path:
    """A data dir with a project, a profile and a task that ran (so the database has
    more than a page of rows); the database's path."""
    seedbed.ok("profile", "add", "doer", "--kind", "command", "--command", "echo hi > hi.txt")
    seedbed.ok(
        "task", "add", "--project", "demo", "--title", "First", "--profile", "doer", "--start"
    )
    seedbed.ok("run", "--until-idle")
    return seedbed.data_dir / "seedbed.db"


def not_a_database(db: Path) -> str:
    replace(db, b"these are not the pages you are looking for\n" * 200)
    return "not a"


def truncated(db: Path) -> str:
    """Cut after the first page: the schema is there, every table's pages are gone."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    replace(db, db.read_bytes()[:page_size])
    return "damaged"


def replace(db: Path, data: bytes) -> None:
    """A new file in the database's place, as a copy or a restore leaves it (this test
    process still holds the old one open, which SQLite would share)."""
    for extra in ("-wal", "-shm"):  # a file copied in comes without them
        Path(f"{db}{extra}").unlink(missing_ok=True)
    new = db.with_name("new.db")
    new.write_bytes(data)
    new.replace(db)


def zeroed(db: Path) -> str:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    replace(db, b"\0" * db.stat().st_size)
    return "not a"


def a_directory(db: Path) -> str:
    db.unlink()
    for extra in ("-wal", "-shm"):
        Path(f"{db}{extra}").unlink(missing_ok=True)
    db.mkdir()
    (db / "something").write_text("x")
    return "directory"


@pytest.mark.parametrize("breakage", [not_a_database, truncated, zeroed, a_directory])
def test_a_broken_database_is_one_error_line(
    seedbed: SeedbedCli, project: str, breakage: Callable[[Path], str]
) -> None:
    db = filled_data_dir(seedbed)
    words = breakage(db)
    for command in [*READS, *WRITES]:
        line = one_error_line(seedbed(*command))
        assert str(db) in line, (command, line)
        assert words in line, (command, line)
        assert "seedbed doctor" in line or "move it aside" in line, (command, line)


def test_a_broken_database_with_no_backup_says_to_move_it_aside(
    seedbed: SeedbedCli, project: str
) -> None:
    db = seedbed.data_dir / "seedbed.db"  # `project add` made it; no engine ever ran here
    assert not list((seedbed.data_dir / "backups").glob("*.db"))
    not_a_database(db)
    for command in [*READS, *WRITES]:
        line = one_error_line(seedbed(*command))
        assert f"no backup yet: move {db} aside to start afresh" in line, (command, line)
        assert "--restore-backup" not in line, (command, line)


def test_the_window_says_what_is_wrong_with_the_database(
    seedbed: SeedbedCli, project: str, tmp_path: Path
) -> None:
    db = filled_data_dir(seedbed)
    zeroed(db)
    window = seedbed.spawn("gui", "--screenshot", str(tmp_path / "shot.png"))
    out, err = window.communicate(timeout=60)
    line = one_error_line(Result(window.returncode, out, err))
    assert str(db) in line and "not a" in line, line
    assert not (tmp_path / "shot.png").exists()


def test_a_database_locked_by_another_process_names_it(
    seedbed: SeedbedCli, project: str, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = filled_data_dir(seedbed)
    base = git(repo, "rev-parse", "main")
    monkeypatch.setenv("SEEDBED_BUSY_TIMEOUT_S", "0.5")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "c.execute(\"INSERT INTO retired_ids (name, last_id) VALUES ('x', 1)\")\n"
            "print('holding', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        for command in READS:  # a reader does not wait for a writer
            result = seedbed(*command)
            assert result.code == 0, (command, result.err)
        for command in WRITES[:-1]:  # an engine with nothing to do writes nothing
            line = one_error_line(seedbed(*command))
            assert "locked" in line and str(db) in line, (command, line)
            assert f"pid {holder.pid}" in line, (command, line)
        assert git(repo, "rev-parse", "main") == base  # the approve did not merge
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


# -- backups ----------------------------------------------------------------------------


def test_backups_rotate_and_doctor_restores_the_newest_good_one(
    seedbed: SeedbedCli, project: str
) -> None:
    db = filled_data_dir(seedbed)
    backups = sorted((seedbed.data_dir / "backups").glob("seedbed-*.db"))
    assert len(backups) == 1, backups  # the engine's start made one
    with sqlite3.connect(backups[0]) as copy:
        assert copy.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT title FROM tasks").fetchall() == [("First",)]

    # The engine's next starts make none until the interval passed; each kept is good.
    seedbed.ok("run", "--until-idle")
    assert len(list((seedbed.data_dir / "backups").glob("seedbed-*.db"))) == 1

    # Refused while an engine runs (before it even looks at the database).
    engine = seedbed.spawn("run")
    try:
        wait_for(lambda: (seedbed.data_dir / "engine.lock").read_text() != "", 20, "the engine")
        refused = one_error_line(seedbed("doctor", "--restore-backup"))
        assert "engine" in refused and str(engine.pid) in refused, refused
    finally:
        engine.send_signal(signal.SIGTERM)
        engine.communicate(timeout=30)

    # Damage a page of the tasks' table: the schema is readable, quick_check is not ok.
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tasks'").fetchone()
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    with db.open("r+b") as out:
        out.seek((root[0] - 1) * page_size)
        out.write(b"\xff" * page_size)

    doctor = seedbed("doctor", "--json")
    assert doctor.code == 1
    database = next(c for c in doctor.json() if c["name"] == "database")
    assert not database["ok"]
    assert backups[0].name in database["detail"], database
    assert "seedbed doctor --restore-backup" in database["detail"], database

    restored = seedbed.ok("doctor", "--restore-backup").out
    assert backups[0].name in restored
    aside = list(seedbed.data_dir.glob("seedbed.db.broken-*[0-9]"))
    assert len(aside) == 1 and aside[0].name in restored, restored
    assert "First" in seedbed.ok("task", "list").out
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"


def test_a_damaged_database_is_never_backed_up_over_good_ones(
    seedbed: SeedbedCli, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = filled_data_dir(seedbed)
    monkeypatch.setenv("SEEDBED_BACKUP_EVERY_S", "0")
    for _ in range(6):
        seedbed.ok("run", "--until-idle")
    kept = sorted((seedbed.data_dir / "backups").glob("seedbed-*.db"))
    assert len(kept) == 5, kept  # the last five
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    with db.open("r+b") as out:
        out.seek((root[0] - 1) * page_size)
        out.write(b"\xff" * page_size)
    seedbed("run", "--until-idle")
    assert sorted((seedbed.data_dir / "backups").glob("seedbed-*.db")) == kept


# -- a read-only data dir ---------------------------------------------------------------


@pytest.fixture
def read_only_view(seedbed: SeedbedCli, tmp_path: Path) -> Iterator[Path]:
    """The data dir seen through a read-only bind mount (root ignores permission bits)."""
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    view = tmp_path / "read-only"
    view.mkdir()
    done = subprocess.run(
        ["mount", "--bind", str(seedbed.data_dir), str(view)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {done.stderr.strip()}")
    try:
        remount(view, "bind,ro")
        yield view
    finally:
        unmount(view)


def test_a_read_only_data_dir_reads_and_refuses_writes_clearly(
    seedbed: SeedbedCli,
    project: str,
    read_only_view: Path,
    repo: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    filled_data_dir(seedbed)
    base = git(repo, "rev-parse", "main")
    monkeypatch.setenv("SEEDBED_DATA_DIR", str(read_only_view))
    seedbed = SeedbedCli(read_only_view, capsys)
    for command in READS:
        result = seedbed(*command)
        assert result.code == 0, (command, result.err)
    assert "First" in seedbed.ok("task", "list").out
    assert "hi.txt" in seedbed.ok("task", "diff", "1").out
    assert seedbed("doctor", "--json").code in (0, 1)
    for command in WRITES:
        line = one_error_line(seedbed(*command))
        assert "read-only" in line and str(read_only_view) in line, (command, line)
    assert git(repo, "rev-parse", "main") == base  # refused before it merged anything


def test_doctor_says_a_read_only_data_dir_is_read_only(
    seedbed: SeedbedCli,
    project: str,
    read_only_view: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    filled_data_dir(seedbed)
    monkeypatch.setenv("SEEDBED_DATA_DIR", str(read_only_view))
    seedbed = SeedbedCli(read_only_view, capsys)
    result = seedbed("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.out)}
    data = checks["data dir"]
    assert not data["ok"], data
    assert str(read_only_view) in data["detail"] and "read-only" in data["detail"], data
    assert "can be read, not changed" in data["detail"], data
    assert result.code == 1
    assert checks["database"]["ok"], checks["database"]  # reading it works


def test_the_window_on_a_read_only_data_dir_says_why_no_engine_can_serve_it(
    qtbot: QtBot, seedbed: SeedbedCli, project: str, read_only_view: Path
) -> None:
    """The window is a client of an engine (issue 16); none can run on a data dir it
    cannot write, and the window's host says so at start instead of hanging."""
    filled_data_dir(seedbed)
    host = EngineHost(read_only_view, Bridge())
    failures: list[BaseException] = []

    def start() -> None:
        try:
            host.start()
        except BaseException as exc:  # what the window shows in place of the board
            failures.append(exc)

    started = threading.Thread(target=start, daemon=True)
    started.start()
    started.join(30)
    try:
        assert not started.is_alive(), "the window's engine host hung at start"
        assert len(failures) == 1 and str(read_only_view) in str(failures[0]), failures
    finally:
        host.stop()


def test_the_window_shows_the_sentence_in_place_of_the_board(
    qtbot: QtBot, seedbed: SeedbedCli, project: str
) -> None:
    db = filled_data_dir(seedbed)
    zeroed(db)
    shown: list[str] = []

    def read_and_close() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, read_and_close)
            return
        shown.append(box.text())
        box.close()

    QTimer.singleShot(50, read_and_close)
    with pytest.raises(UserError) as raised:
        run_gui(seedbed.data_dir)
    assert shown == [str(raised.value)]
    assert str(db) in shown[0] and "not a database" in shown[0]


def test_a_full_disk_keeps_how_the_run_ended(fs_cli: SeedbedCli, tmpfs: Path) -> None:
    """Lines the disk cannot take are dropped from the middle, never the end: the run's
    last events (its error, "run N ended") are what the user needs."""
    seedbed = fs_cli
    repo = make_repo(tmpfs.parent / "repo")
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    seedbed.ok("profile", "add", "doer", "--kind", "command", "--command", "echo hi > hi.txt")
    seedbed.ok("task", "add", "--project", "demo", "--title", "Do", "--profile", "doer", "--start")
    seedbed.ok("run", "--until-idle")
    store = Store.open(seedbed.data_dir)
    try:
        recorder = EventRecorder(store, 1)
        before = store.count_events(1)
        filler = fill(tmpfs)
        try:
            lines = HELD_ROWS + 5_000
            recorder.add(OutputEvent(stream="stdout", line=f"line {n}") for n in range(lines))
            recorder.add([StatusEvent(message="the very end")])
            recorder.flush()
            assert recorder.full is not None  # nothing could be stored
        finally:
            filler.unlink()
        recorder.flush()
        assert recorder.full is None
        rows = [json.loads(data) for _, data in store.read_events(1, before - 1, limit=50_000)]
    finally:
        store.close()
    assert len(rows) == HELD_ROWS + 1
    assert rows[-1]["message"] == "the very end"
    gap = HELD_ROWS - HELD_TAIL
    assert rows[gap - 1]["line"] == f"line {gap - 1}"
    assert rows[gap]["message"] == f"{lines + 1 - HELD_ROWS} lines were not kept: the disk was full"
    assert rows[gap + 1]["line"] == f"line {lines - HELD_TAIL + 1}"
