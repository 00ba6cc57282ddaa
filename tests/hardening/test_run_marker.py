"""Run ids repeat across data dirs: recovery must kill only what its own data dir started."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from seedbed.agents.process import RUN_MARKER_VARIABLE, run_marker
from seedbed.core.runs import kill_orphans
from seedbed.domain.models import Run


def test_recovery_kills_only_the_processes_of_its_own_data_dir(tmp_path: Path) -> None:
    """Run ids repeat across data dirs (each has a run 1): one data dir's recovery must
    never take another's live agent for its own dead one."""
    mine, other = tmp_path / "mine", tmp_path / "other"
    run = Run(id=1, task_id=1, number=1)
    procs = {
        data_dir: subprocess.Popen(
            ["sleep", "60"],
            env={
                **os.environ,
                "SEEDBED_RUN_ID": "1",
                RUN_MARKER_VARIABLE: run_marker(data_dir, 1),
            },
            start_new_session=True,
        )
        for data_dir in (mine, other)
    }
    try:
        assert kill_orphans(mine, run)
        procs[mine].wait(timeout=10)
        time.sleep(0.2)
        assert procs[other].poll() is None  # the other data dir's run 1 lives on
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()
