"""Ask the kernel to run the window's threads soon after they wake.

With the cores busy (agents running test suites), a thread that wakes waits its turn
behind the busy ones; measured, most of the window's longest stalls under load were that
wait, not work (tests/perf/flood_window.py, SEEDBED_PERF_DIAG=1). Linux's EEVDF scheduler
(6.12 and later) lets any thread ask for a shorter time slice (`sched_setattr`'s
`sched_runtime` for a normal thread, no privilege needed): a thread that asks for short
slices gets an earlier deadline, so it is picked, and may preempt, sooner when it wakes.
Its share of the CPU is unchanged: it is the fair share cut into smaller pieces, right
for a GUI thread that runs a few milliseconds at a time. Only the asking thread: what it
starts (threads, the engine, git, agents) starts with the default slice again
(SCHED_RESET_ON_FORK; without it the slice is inherited). Elsewhere (another system, an
older kernel, an unknown machine) nothing is asked and nothing changes.
"""

from __future__ import annotations

import ctypes
import platform
import sys

SHORT_SLICE_NS = 100_000  # 0.1 ms: the shortest slice the kernel grants
SCHED_OTHER, SCHED_BATCH = 0, 3
SCHED_FLAG_RESET_ON_FORK = 0x01

# The system call's number where we know it (asm-generic for the 64-bit ARMs and RISC-V).
_SCHED_SETATTR = {"x86_64": 314, "aarch64": 274, "arm64": 274, "riscv64": 274}
_SCHED_GETATTR = {"x86_64": 315, "aarch64": 275, "arm64": 275, "riscv64": 275}


class SchedAttr(ctypes.Structure):
    """The kernel's `struct sched_attr` (its first version, 56 bytes)."""

    _fields_ = [
        ("size", ctypes.c_uint32),
        ("sched_policy", ctypes.c_uint32),
        ("sched_flags", ctypes.c_uint64),
        ("sched_nice", ctypes.c_int32),
        ("sched_priority", ctypes.c_uint32),
        ("sched_runtime", ctypes.c_uint64),
        ("sched_deadline", ctypes.c_uint64),
        ("sched_period", ctypes.c_uint64),
        ("sched_util_min", ctypes.c_uint32),
        ("sched_util_max", ctypes.c_uint32),
    ]


def _syscalls() -> tuple[ctypes.CDLL, int, int] | None:
    if not sys.platform.startswith("linux"):
        return None
    machine = platform.machine()
    if machine not in _SCHED_SETATTR:
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    return libc, _SCHED_SETATTR[machine], _SCHED_GETATTR[machine]


def thread_slice_ns(native_id: int = 0) -> int | None:
    """A thread's time slice as the kernel reports it (0: the default on a kernel that
    reports none): the calling thread's, or that of `native_id` (threading's
    `native_id`); None where it cannot be read."""
    calls = _syscalls()
    if calls is None:
        return None
    libc, _set, get = calls
    attr = SchedAttr()
    if libc.syscall(get, native_id, ctypes.byref(attr), ctypes.sizeof(SchedAttr), 0) != 0:
        return None
    return int(attr.sched_runtime)


def ask_short_slices() -> bool:
    """For the calling thread: ask for SHORT_SLICE_NS slices, keeping its policy and its
    nice value. True when the kernel now reports that slice; False where it cannot be
    asked or was not taken (never raises: this is a wish, not a need)."""
    calls = _syscalls()
    if calls is None:
        return False
    libc, set_, get = calls
    attr = SchedAttr()
    if libc.syscall(get, 0, ctypes.byref(attr), ctypes.sizeof(SchedAttr), 0) != 0:
        return False
    if attr.sched_policy not in (SCHED_OTHER, SCHED_BATCH):
        return False  # real-time or idle: someone chose it on purpose
    wanted = SchedAttr(
        size=ctypes.sizeof(SchedAttr),
        sched_policy=attr.sched_policy,
        # Without it, every thread and process this one starts after would inherit the
        # slice (the engine a window starts, and through it every agent).
        sched_flags=SCHED_FLAG_RESET_ON_FORK,
        sched_nice=attr.sched_nice,  # this thread's, kept as it is
        sched_runtime=SHORT_SLICE_NS,
    )
    if libc.syscall(set_, 0, ctypes.byref(wanted), 0) != 0:
        return False
    return thread_slice_ns() == SHORT_SLICE_NS
