"""cli_parse_events_per_s: Claude Code's stream-json lines through its adapter's parser.

The transcript is built from output recorded from the real CLI
(tests/agents/cli/recordings/claude_code/): one session's `system`/`init` line, then the
recorded runs' other lines (streamed deltas, whole assistant blocks, tool calls and
results, retries, permission denials, results) repeated in their recorded proportions
until it has 100,000 lines (20,000 with --quick). Each repetition times a fresh parser
over every line (json decoding and event construction included) and the median is
reported in lines per second. Target: at least 100,000.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from harness import Figures, benchmark, cli, log, make_repo, median, temp_dir, timer

RECORDINGS = Path(__file__).resolve().parents[1] / "agents" / "cli" / "recordings" / "claude_code"
RUNS = ("write_file", "follow_up", "permission_denied", "api_retry")


def transcript(n_lines: int) -> list[str]:
    """`n_lines` lines: the first recording's init, then the runs' other lines, repeated."""
    init = ""
    body: list[str] = []
    for name in RUNS:
        for line in (RECORDINGS / f"{name}.jsonl").read_text().splitlines():
            if '"subtype":"init"' in line[:60]:
                init = init or line
            elif line.strip():
                body.append(line)
    lines = [init]
    while len(lines) < n_lines:
        lines.extend(body[: n_lines - len(lines)])
    return lines


@benchmark("cli_parse_events_per_s", order=50)
def cli_parse_events_per_s(quick: bool) -> Figures:
    from seedbed.agents.cli.claude_code import ClaudeCodeParser

    lines = transcript(20_000 if quick else 100_000)
    size_mb = sum(len(line) for line in lines) / 1e6
    rates: list[float] = []
    events = 0
    for _ in range(3 if quick else 5):
        parser = ClaudeCodeParser()
        feed = parser.feed
        events = 0
        start = time.perf_counter()
        for line in lines:
            events += len(feed(line))
        rates.append(len(lines) / (time.perf_counter() - start))
    rate = median(rates)
    log(f"{len(lines)} lines ({size_mb:.1f} MB) → {events} events; {rate:,.0f} lines/s")
    return {
        "cli_parse_events_per_s": round(rate),
        "cli_parse_mb_per_s": round(rate * size_mb / len(lines), 1),
        "cli_parse_events_out": events,
    }


@benchmark("cli_task_list_s", order=51)
def cli_task_list_s(quick: bool) -> Figures:
    """`seedbed task list` as a user runs it: a new process each time, on a data dir
    with 3 projects and 60 tasks; the median wall time in seconds. Target: at most 0.3.

    Python's bytecode cache is on, in a temp dir of its own (PYTHONPYCACHEPREFIX), as in
    an installed Seedbed; `cli_task_list_no_pyc_s` is the same with every module compiled
    at each start (PYTHONDONTWRITEBYTECODE=1 and no cache: what a CI shell that sets it
    sees). CPU seconds (user + system) are less disturbed by a busy machine."""
    figures: Figures = {}
    with temp_dir("cli-list") as tmp:
        data_dir = tmp / "data"
        for number in range(3):
            repo = make_repo(tmp / f"repo{number}", 1)
            cli(data_dir, "project", "add", repo, "--name", f"p{number}")
            for task in range(20):
                cli(data_dir, "task", "add", "--project", f"p{number}", "--title", f"Task {task}")
        cache_vars = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
        base = {k: v for k, v in os.environ.items() if k not in cache_vars}
        cached = {**base, "PYTHONPYCACHEPREFIX": str(tmp / "pycache")}
        uncached = {**base, "PYTHONDONTWRITEBYTECODE": "1"}
        for name, env in (("cli_task_list", cached), ("cli_task_list_no_pyc", uncached)):
            list_tasks(data_dir, env)  # the first start fills the bytecode cache
            times: list[float] = []
            cpu: list[float] = []
            for _ in range(5 if quick else 15):
                before = children_cpu_s()
                with timer() as elapsed:
                    out = list_tasks(data_dir, env)
                times.append(elapsed())
                cpu.append(children_cpu_s() - before)
            assert len(out.splitlines()) == 60, out
            log(
                f"{name}: median {median(times):.3f}s, best {min(times):.3f}s over "
                f"{len(times)}; CPU median {median(cpu):.3f}s"
            )
            figures[f"{name}_s"] = round(median(times), 3)
            figures[f"{name}_best_s"] = round(min(times), 3)
            figures[f"{name}_cpu_s"] = round(median(cpu), 3)
    return figures


def list_tasks(data_dir: Path, env: dict[str, str]) -> str:
    """`python -m seedbed --data-dir D task list` as a new process; its stdout."""
    argv = [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir), "task", "list"]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
    return result.stdout


def children_cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
