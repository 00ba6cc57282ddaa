"""The window's threads ask the kernel for short time slices (ui/common/latency.py)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from seedbed.ui.common.latency import SHORT_SLICE_NS, ask_short_slices, thread_slice_ns
from tests.ui.conftest import CheckedContext


def kernel_takes_slices() -> bool:
    """Linux 6.12 and later take a normal thread's slice (EEVDF's custom slices)."""
    if not sys.platform.startswith("linux"):
        return False
    found = re.match(r"(\d+)\.(\d+)", platform.release())
    return found is not None and (int(found[1]), int(found[2])) >= (6, 12)


def in_thread(work: Callable[[], Any]) -> Any:
    """work() on a fresh thread (what it asks stays with that thread); its result."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(work()))
    thread.start()
    thread.join(10)
    assert out, "the thread did not finish"
    return out[0]


def test_a_thread_gets_short_slices_and_keeps_its_nice_value() -> None:
    def work() -> tuple[bool, int | None, int]:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 3)  # as `nice -n 3` would
        took = ask_short_slices()
        return took, thread_slice_ns(), os.getpriority(os.PRIO_PROCESS, 0)

    before = in_thread(thread_slice_ns)
    took, after, nice = in_thread(work)
    assert nice == 3  # asking for a slice never changes the thread's priority
    if kernel_takes_slices():
        assert took is True
        assert after == SHORT_SLICE_NS
        assert before != SHORT_SLICE_NS  # a thread that did not ask has the default
    else:
        assert took is False


def test_asking_is_the_calling_threads_alone() -> None:
    def asks_then_looks() -> int | None:
        ask_short_slices()
        return thread_slice_ns()

    asked = in_thread(asks_then_looks)
    other = in_thread(thread_slice_ns)
    if kernel_takes_slices():
        assert asked == SHORT_SLICE_NS
        assert other != SHORT_SLICE_NS
    else:
        assert asked == other


def test_the_windows_client_thread_asks_for_short_slices(app_context: CheckedContext) -> None:
    """The thread that reads the engine's answers runs in the window's process beside the
    GUI thread: it asks as the GUI thread does (`seedbed gui`'s tune_process)."""
    thread = app_context.host._thread
    assert thread is not None and thread.native_id is not None
    client_slice = thread_slice_ns(thread.native_id)
    if kernel_takes_slices():
        assert client_slice == SHORT_SLICE_NS
    else:
        assert client_slice != SHORT_SLICE_NS


def test_what_an_asking_thread_starts_has_the_default_slice() -> None:
    """The window's GUI thread asks, then starts the engine, git, editors: none of them
    inherits the slice."""

    def asks_then_starts() -> tuple[int | None, int | None, str]:
        ask_short_slices()
        started: list[int | None] = []
        thread = threading.Thread(target=lambda: started.append(thread_slice_ns()))
        thread.start()
        thread.join()
        probe = "from seedbed.ui.common.latency import thread_slice_ns; print(thread_slice_ns())"
        child = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout.strip()
        return thread_slice_ns(), started[0], child

    own, its_thread, its_child = in_thread(asks_then_starts)
    if kernel_takes_slices():
        assert own == SHORT_SLICE_NS
        assert its_thread != SHORT_SLICE_NS
        assert its_child != str(SHORT_SLICE_NS)
    else:
        assert own == its_thread
