"""Which proxy socket dirs an engine's start removes: only its user's, named as Seedbed
names them, whose lock nobody holds and was not just made."""

from __future__ import annotations

import os
import time
from pathlib import Path

from seedbed.sandbox.proxy_dirs import LOCK, PREFIX, remove_stale, serving


def made(root: Path, letter: str, age: float) -> Path:
    directory = root / f"{PREFIX}{letter * 12}"
    directory.mkdir()
    (directory / LOCK).write_text("123\n")
    then = time.time() - age
    os.utime(directory / LOCK, (then, then))
    return directory


def test_only_an_unheld_lock_past_its_grace_is_stale(tmp_path: Path) -> None:
    stale = made(tmp_path, "a", 3600)
    young = made(tmp_path, "b", 0)  # its maker may not have locked it yet
    link = tmp_path / f"{PREFIX}{'c' * 12}"
    link.symlink_to(tmp_path)
    other = tmp_path / "seedbed-net-not-ours"
    other.mkdir()
    (other / LOCK).write_text("")

    assert remove_stale(tmp_path) == [stale]

    assert young.is_dir() and link.is_symlink() and other.is_dir()


def test_a_serving_dir_is_held_and_gone_at_the_end(tmp_path: Path) -> None:
    directory = tmp_path / f"{PREFIX}{'e' * 12}"
    with serving(directory):
        assert (directory / LOCK).read_text() == f"{os.getpid()}\n"
        os.utime(directory / LOCK, (0, 0))
        assert remove_stale(tmp_path) == []  # held, here by this very process
        assert directory.is_dir()
    assert not directory.exists()
