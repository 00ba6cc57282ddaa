"""ManagedProcess and LineSplitter against real subprocesses: output, stdin, exit codes,
over-long lines, timeouts, stop, and whole-group cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
import tracemalloc
from pathlib import Path

import pytest

from seedbed.agents.process import (
    LINE_CAP,
    LineSplitter,
    ManagedProcess,
    ProcessSpec,
    base_environment,
    group_alive,
)
from seedbed.domain.events import Stream

OUT = Stream.STDOUT
ERR = Stream.STDERR


# --- helpers -----------------------------------------------------------------------


def spec(tmp_path: Path, script: str, **kwargs) -> ProcessSpec:
    return ProcessSpec(
        argv=["/bin/sh", "-c", script], cwd=tmp_path, env=base_environment(), **kwargs
    )


async def collect(process: ManagedProcess, within: float = 10.0) -> list:
    """Every line of the process; fails (after stopping the group) if it takes too long."""
    lines: list = []

    async def drain() -> None:
        async for batch in process.batches():
            assert batch, "batches() yielded an empty batch"
            lines.extend(batch)

    try:
        await asyncio.wait_for(drain(), within)
    except TimeoutError:
        await process.stop()
        pytest.fail(f"batches() did not end within {within} s; got {lines!r}")
    return lines


def texts(lines: list, stream: Stream = OUT) -> list[str]:
    return [text for s, text, _cut in lines if s == stream]


def group_gone(pgid: int, within: float = 2.0) -> bool:
    """True once no process of the group can run any more (zombies do not count)."""
    deadline = time.monotonic() + within
    while group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def pid_gone(pid: int) -> bool:
    """The process no longer exists, or is a zombie that init has not reaped yet."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return True
    return stat[stat.rindex(")") + 2] == "Z"


# --- LineSplitter --------------------------------------------------------------------


def test_splitter_joins_a_line_split_across_chunks():
    splitter = LineSplitter(OUT)
    assert splitter.feed(b"hel") == []
    assert splitter.feed(b"lo wo") == []
    assert splitter.feed(b"rld\nsecond\nthi") == [(OUT, "hello world", 0), (OUT, "second", 0)]
    assert splitter.feed(b"rd\n") == [(OUT, "third", 0)]
    assert splitter.finish() == []


def test_splitter_keeps_empty_lines_and_ignores_empty_chunks():
    splitter = LineSplitter(ERR)
    assert splitter.feed(b"") == []
    assert splitter.feed(b"\n\na\n") == [(ERR, "", 0), (ERR, "", 0), (ERR, "a", 0)]
    assert splitter.finish() == []


def test_splitter_strips_crlf_even_when_split_between_chunks():
    splitter = LineSplitter(OUT)
    assert splitter.feed(b"one\r\ntwo\r") == [(OUT, "one", 0)]
    assert splitter.feed(b"\nthree\r\n") == [(OUT, "two", 0), (OUT, "three", 0)]
    # A carriage return inside a line is content, not a line ending.
    assert splitter.feed(b"a\rb\n") == [(OUT, "a\rb", 0)]


def test_splitter_cuts_an_over_long_line_and_counts_the_bytes_cut():
    splitter = LineSplitter(OUT, cap=10)
    line = b"0123456789abcdefghijklmno"  # 25 bytes
    lines = []
    for start in range(0, len(line), 7):
        lines += splitter.feed(line[start : start + 7])
    lines += splitter.feed(b"\nshort\n")
    assert lines == [(OUT, "0123456789", 15), (OUT, "short", 0)]


def test_splitter_cuts_an_over_long_line_arriving_in_one_chunk():
    splitter = LineSplitter(OUT, cap=4)
    assert splitter.feed(b"abcdefgh\nxy\nabcd\nabcde\n") == [
        (OUT, "abcd", 4),
        (OUT, "xy", 0),
        (OUT, "abcd", 0),
        (OUT, "abcd", 1),
    ]


def test_splitter_counts_the_cut_when_the_end_of_a_long_line_completes_it():
    splitter = LineSplitter(OUT, cap=4)
    assert splitter.feed(b"abcdef") == []  # pending "abcd", 2 cut so far
    assert splitter.feed(b"ghi\nok\n") == [(OUT, "abcd", 5), (OUT, "ok", 0)]


def test_splitter_finish_returns_a_final_line_without_newline():
    splitter = LineSplitter(OUT)
    assert splitter.feed(b"first\nlast") == [(OUT, "first", 0)]
    assert splitter.finish() == [(OUT, "last", 0)]
    assert splitter.finish() == []


def test_splitter_finish_counts_the_cut_of_an_unterminated_long_line():
    splitter = LineSplitter(OUT, cap=3)
    splitter.feed(b"abcdefg")
    splitter.feed(b"hij")
    assert splitter.finish() == [(OUT, "abc", 7)]


def test_splitter_replaces_invalid_utf8_and_joins_split_characters():
    splitter = LineSplitter(OUT)
    assert splitter.feed(b"bad \xff\xfe byte\n") == [(OUT, "bad \ufffd\ufffd byte", 0)]
    e_acute = "é".encode()
    assert splitter.feed(b"caf" + e_acute[:1]) == []
    assert splitter.feed(e_acute[1:] + b"\n") == [(OUT, "café", 0)]


# --- ManagedProcess --------------------------------------------------------------------


def test_stdout_and_stderr_lines_arrive_with_their_stream(tmp_path):
    async def main():
        process = await ManagedProcess.start(
            spec(tmp_path, "echo out1; echo err1 >&2; echo out2; printf 'err2' >&2; exit 0")
        )
        return process, await collect(process)

    process, lines = asyncio.run(main())
    assert texts(lines, OUT) == ["out1", "out2"]
    assert texts(lines, ERR) == ["err1", "err2"]
    assert all(cut == 0 for _s, _t, cut in lines)
    assert process.exit_code == 0
    assert process.ended_by == ""


def test_custom_streams_label_the_lines(tmp_path):
    async def main():
        process = await ManagedProcess.start(
            spec(tmp_path, "echo a; echo b >&2", streams=(Stream.SETUP, Stream.CHECK))
        )
        return await collect(process)

    lines = asyncio.run(main())
    assert sorted(lines) == sorted([(Stream.SETUP, "a", 0), (Stream.CHECK, "b", 0)])


def test_runs_in_cwd_with_the_given_environment(tmp_path):
    env = {"PATH": os.environ["PATH"], "ONLY_THIS": "value with spaces"}

    async def main():
        process = await ManagedProcess.start(
            ProcessSpec(
                argv=["/bin/sh", "-c", 'pwd; echo "$ONLY_THIS"; echo "${HOME-unset}"'],
                cwd=tmp_path,
                env=env,
            )
        )
        return await collect(process)

    assert texts(asyncio.run(main())) == [str(tmp_path), "value with spaces", "unset"]


def test_stdin_is_delivered_and_closed(tmp_path):
    async def main():
        process = await ManagedProcess.start(
            spec(tmp_path, "cat; echo eof", stdin="hello\nwörld\nno newline".encode())
        )
        return process, await collect(process)

    process, lines = asyncio.run(main())
    assert texts(lines) == ["hello", "wörld", "no newlineeof"]
    assert process.exit_code == 0


def test_large_stdin_and_output_do_not_deadlock(tmp_path):
    data = b"".join(b"line %d\n" % i for i in range(200_000))  # ~2.3 MB

    async def main():
        process = await ManagedProcess.start(spec(tmp_path, "cat", stdin=data))
        return await collect(process)

    lines = asyncio.run(main())
    assert len(lines) == 200_000
    assert lines[-1] == (OUT, "line 199999", 0)


def test_stdin_ignored_by_the_process_is_not_an_error(tmp_path):
    async def main():
        process = await ManagedProcess.start(
            spec(tmp_path, "exec 0<&-; echo ok", stdin=b"x" * 5_000_000)
        )
        return process, await collect(process)

    process, lines = asyncio.run(main())
    assert texts(lines) == ["ok"]
    assert process.exit_code == 0


def test_no_stdin_means_end_of_file_at_once(tmp_path):
    async def main():
        process = await ManagedProcess.start(spec(tmp_path, "cat; echo done"))
        return await collect(process, within=3)

    assert texts(asyncio.run(main())) == ["done"]


@pytest.mark.parametrize("code", [1, 7, 255])
def test_exit_code_is_recorded(tmp_path, code):
    async def main():
        process = await ManagedProcess.start(spec(tmp_path, f"echo bye; exit {code}"))
        await collect(process)
        return process

    process = asyncio.run(main())
    assert process.exit_code == code
    assert process.ended_by == ""


def test_a_50_mb_line_is_capped_without_buffering_it(tmp_path):
    size = 50_000_000

    async def main():
        process = await ManagedProcess.start(
            spec(tmp_path, f"head -c {size} /dev/zero | tr '\\0' x; echo; echo after")
        )
        return process, await collect(process, within=20)

    tracemalloc.start()
    started = time.monotonic()
    try:
        process, lines = asyncio.run(main())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - started

    assert lines == [(OUT, "x" * LINE_CAP, size - LINE_CAP), (OUT, "after", 0)]
    assert process.exit_code == 0
    assert peak < 8 * 1024 * 1024, f"peak Python memory {peak} bytes for a capped line"
    assert elapsed < 10, f"a 50 MB line took {elapsed:.1f} s"


def test_timeout_ends_the_whole_group_including_a_background_grandchild(tmp_path):
    timeout, grace = 0.5, 0.5

    async def main():
        process = await ManagedProcess.start(
            spec(tmp_path, "sleep 1000 & echo $!; sleep 1000", timeout=timeout, grace=grace)
        )
        started = time.monotonic()
        lines = await collect(process)
        return process, lines, time.monotonic() - started

    process, lines, elapsed = asyncio.run(main())
    grandchild = int(texts(lines)[0])
    assert process.ended_by == "timeout"
    assert process.exit_code == -signal.SIGTERM
    assert timeout <= elapsed < timeout + grace + 1.0
    assert group_gone(process.pid)
    assert pid_gone(grandchild)


def test_timeout_kills_a_process_that_ignores_sigterm_after_the_grace(tmp_path):
    timeout, grace = 0.3, 0.5

    async def main():
        process = await ManagedProcess.start(
            spec(tmp_path, 'trap "" TERM; echo ready; sleep 1000', timeout=timeout, grace=grace)
        )
        started = time.monotonic()
        lines = await collect(process)
        return process, lines, time.monotonic() - started

    process, lines, elapsed = asyncio.run(main())
    assert texts(lines) == ["ready"]
    assert process.ended_by == "timeout"
    assert process.exit_code == -signal.SIGKILL
    assert timeout + grace <= elapsed < timeout + grace + 1.0
    assert group_gone(process.pid)


def test_a_process_finishing_before_its_timeout_is_not_timed_out(tmp_path):
    async def main():
        process = await ManagedProcess.start(spec(tmp_path, "echo quick", timeout=0.3))
        lines = await collect(process)
        await asyncio.sleep(0.4)  # past the timeout: the watchdog must not touch it
        return process, lines

    process, lines = asyncio.run(main())
    assert texts(lines) == ["quick"]
    assert process.ended_by == ""
    assert process.exit_code == 0


def test_stop_terminates_a_cooperative_process_at_once(tmp_path):
    async def main():
        process = await ManagedProcess.start(
            spec(tmp_path, "sleep 1000 & echo $!; sleep 1000", grace=5.0)
        )
        lines: list = []
        started = None
        async for batch in process.batches():
            lines.extend(batch)
            if started is None:
                started = time.monotonic()
                await process.stop()
        return process, lines, time.monotonic() - started

    process, lines, elapsed = asyncio.run(main())
    assert process.ended_by == "stop"
    assert process.exit_code == -signal.SIGTERM
    assert elapsed < 2.0, "SIGTERM was enough; the grace period must not be waited out"
    assert group_gone(process.pid)
    assert pid_gone(int(texts(lines)[0]))


def test_stop_sends_sigkill_after_the_grace_to_a_process_ignoring_sigterm(tmp_path):
    grace = 0.5

    async def main():
        process = await ManagedProcess.start(
            spec(tmp_path, 'trap "" TERM; sleep 1000 & echo $!; sleep 1000', grace=grace)
        )
        lines: list = []
        elapsed = None
        async for batch in process.batches():
            lines.extend(batch)
            if elapsed is None:
                started = time.monotonic()
                # Concurrent and repeated stops share one termination.
                await asyncio.gather(process.stop(), process.stop("timeout"))
                elapsed = time.monotonic() - started
                await process.stop()
        return process, lines, elapsed

    process, lines, elapsed = asyncio.run(main())
    assert process.ended_by == "stop"
    assert process.exit_code == -signal.SIGKILL
    assert grace <= elapsed < grace + 1.0
    assert group_gone(process.pid)
    assert pid_gone(int(texts(lines)[0]))


def test_main_exit_with_a_background_child_holding_stdout_does_not_hang(tmp_path):
    async def main():
        process = await ManagedProcess.start(spec(tmp_path, "sleep 1000 & echo $!; echo done"))
        started = time.monotonic()
        lines = await collect(process, within=5)
        return process, lines, time.monotonic() - started

    process, lines, elapsed = asyncio.run(main())
    grandchild, done = texts(lines)
    assert done == "done"
    assert process.exit_code == 0
    assert process.ended_by == ""
    assert elapsed < 2.0
    assert group_gone(process.pid)
    assert pid_gone(int(grandchild))


def test_output_of_a_background_child_shortly_after_exit_is_kept(tmp_path):
    async def main():
        process = await ManagedProcess.start(spec(tmp_path, "(sleep 0.1; echo late) & echo early"))
        return process, await collect(process, within=5)

    process, lines = asyncio.run(main())
    assert texts(lines) == ["early", "late"]
    assert process.exit_code == 0
    assert group_gone(process.pid)


def test_leaving_batches_early_stops_the_group(tmp_path):
    async def main():
        process = await ManagedProcess.start(
            spec(tmp_path, "sleep 1000 & echo $!; sleep 1000", grace=0.5)
        )
        batches = process.batches()
        first = await anext(batches)
        await batches.aclose()
        return process, first

    process, first = asyncio.run(asyncio.wait_for(main(), 5))
    assert process.ended_by == "stop"
    assert process.exit_code is not None
    assert group_gone(process.pid)
    assert pid_gone(int(first[0][1]))


@pytest.mark.skipif(shutil.which("setsid") is None, reason="needs setsid(1)")
def test_a_child_leaving_the_group_does_not_keep_batches_open(tmp_path):
    async def main():
        process = await ManagedProcess.start(spec(tmp_path, "setsid sleep 30 & echo $!; echo done"))
        lines: list = []

        async def drain() -> None:
            async for batch in process.batches():
                lines.extend(batch)

        try:
            await asyncio.wait_for(drain(), 2)
        except TimeoutError:
            return False
        finally:
            if lines:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(lines[0][1]), signal.SIGKILL)
            await asyncio.sleep(0.2)  # let the pipes close before the loop does
        return True

    assert asyncio.run(main()), "batches() still open 2 s after the main process exited"
