"""A sandboxed profile where no sandbox can be made refuses to run: never a silent run
with the user's full rights. Bubblewrap's absence is simulated by PATH."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import SeedbedCli


@pytest.fixture
def no_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH with git and a shell, and no bwrap."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("git", "sh", "env"):
        found = shutil.which(name)
        assert found is not None
        os.symlink(found, bin_dir / name)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("SEEDBED_BWRAP", raising=False)


def test_a_sandboxed_profile_without_bwrap_refuses_and_says_how_to_go_on(
    seedbed: SeedbedCli, project: str, repo: Path, tmp_path: Path, no_bwrap: None
) -> None:
    seedbed.ok(
        "profile", "add", "boxed", "--kind", "command", "--command", "touch ran", "--sandbox"
    )
    task_id = int(
        seedbed.ok(
            "task", "add", "--project", project, "--title", "T", "--profile", "boxed", "--start"
        ).out.strip()
    )

    seedbed.ok("run", "--until-idle")

    task = seedbed.show(task_id)
    assert (task["state"], task["phase"]) == ("awaiting_review", "agent_failed"), task
    error = task["error"]
    assert "bubblewrap (bwrap) is not installed" in error
    assert "apt install bubblewrap" in error and "--no-sandbox" in error
    assert task["worktree"] and not (Path(task["worktree"]) / "ran").exists()  # never ran bare

    doctor = seedbed("doctor")
    lines = {line.split()[0]: line for line in doctor.out.splitlines() if line.strip()}
    assert " NO " in lines["sandbox"] and "bubblewrap" in lines["sandbox"], doctor.out
    assert "profile boxed" in doctor.out and "--no-sandbox" in doctor.out.split("profile boxed")[1]
