"""flock_within: the one wait for a file lock, the engine's and an approve's."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from seedbed.domain.errors import UserError
from seedbed.store.approving import holding_approve
from seedbed.store.lock import EngineBusy, EngineLock, flock_within


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """Two open files of one lock path (flock is per open file, as two processes')."""
    path = tmp_path / "a.lock"
    first = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    second = os.open(path, os.O_RDWR)
    yield first, second
    os.close(first)
    os.close(second)


def test_a_free_lock_is_taken_at_once(opened: tuple[int, int]) -> None:
    first, _ = opened
    assert flock_within(first, wait=0.0, poll=0.01)


def test_a_held_lock_is_tried_for_the_wait_then_refused(opened: tuple[int, int]) -> None:
    first, second = opened
    assert flock_within(first, wait=0.0, poll=0.01)
    start = time.monotonic()
    assert not flock_within(second, wait=0.2, poll=0.01)
    assert time.monotonic() - start >= 0.2


def test_the_engine_lock_names_its_holder(tmp_path: Path) -> None:
    with EngineLock(tmp_path), pytest.raises(EngineBusy, match=rf"\(pid {os.getpid()}\)"):
        EngineLock(tmp_path).acquire(wait=0.05)


def test_a_second_approve_of_a_task_is_refused_with_its_sentence(tmp_path: Path) -> None:
    refused = pytest.raises(UserError, match="being merged already")
    with holding_approve(tmp_path, 7), refused, holding_approve(tmp_path, 7, wait=0.05):
        pass
