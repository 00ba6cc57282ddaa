"""Real engine processes on a test's data dir, and a fixture that never leaves one behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from seedbed.store.lock import engine_running


class Engines:
    """Runs `seedbed …` as real processes on `data_dir` and remembers every engine pid it
    learns of, to kill whatever still runs when the test ends."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.pids: set[int] = set()
        self.processes: list[subprocess.Popen[str]] = []

    def command(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "seedbed", "--data-dir", str(self.data_dir), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
            check=False,
        )

    def start(self, env: dict[str, str] | None = None) -> dict[str, Any]:
        """`seedbed engine start --json`; what it printed (the engine's hello)."""
        result = self.command("engine", "start", "--json", env=env)
        assert result.returncode == 0, result.stderr
        started: dict[str, Any] = json.loads(result.stdout)
        self.pids.add(started["pid"])
        return started

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "seedbed", "--data-dir", str(self.data_dir), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.processes.append(process)
        self.pids.add(process.pid)
        return process

    def wait_gone(self, timeout: float = 10.0) -> bool:
        """True once no engine holds the data dir's lock (within `timeout` s)."""
        deadline = time.monotonic() + timeout
        while engine_running(self.data_dir):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def lock_holder(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.data_dir / "engine.lock").read_text().strip())
        return None

    def kill_all(self) -> None:
        holder = self.lock_holder() if engine_running(self.data_dir) else None
        for pid in self.pids | ({holder} if holder else set()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.communicate(timeout=5)
        self.wait_gone()
