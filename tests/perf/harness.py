"""Shared pieces of the benchmarks: the registry, logging, temp dirs, repos and the CLI.

A benchmark is a function `fn(quick: bool) -> dict[str, float]` registered under a name
with `@benchmark("name")` in any `bench_*.py` module next to this file; `run.py` imports
those modules and runs what is registered, lowest `order` first (ties: registration
order). Set-up is not timed; each benchmark times only what it measures and cleans up its
own temp dirs.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

Figures = dict[str, float]
BenchmarkFn = Callable[[bool], Figures]

BENCHMARKS: dict[str, BenchmarkFn] = {}
_ORDER: dict[str, int] = {}

GIT_NAME = "Perf Bench"
GIT_EMAIL = "perf@example.com"


def benchmark(name: str, order: int = 100) -> Callable[[BenchmarkFn], BenchmarkFn]:
    """Register `fn(quick) -> figures` under `name` (which must be unique)."""

    def register(fn: BenchmarkFn) -> BenchmarkFn:
        if name in BENCHMARKS:
            raise ValueError(f"benchmark {name!r} is registered twice")
        BENCHMARKS[name] = fn
        _ORDER[name] = order
        return fn

    return register


def ordered_names() -> list[str]:
    """Registered benchmarks in the order they run."""
    return sorted(BENCHMARKS, key=lambda name: _ORDER[name])  # stable: ties keep registration


def log(message: str) -> None:
    """Progress for humans: always stderr, so stdout stays one JSON document."""
    sys.stderr.write(f"[perf] {message}\n")
    sys.stderr.flush()


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@contextlib.contextmanager
def temp_dir(label: str) -> Iterator[Path]:
    """A fresh temp dir (resolved, so paths compare equal to what git reports), removed after."""
    with tempfile.TemporaryDirectory(prefix=f"seedbed-perf-{label}-") as tmp:
        yield Path(tmp).resolve()


@contextlib.contextmanager
def timer() -> Iterator[Callable[[], float]]:
    """`with timer() as elapsed: …` then `elapsed()` is the block's wall time in seconds."""
    start = time.perf_counter()
    end: float | None = None

    def elapsed() -> float:
        return (end if end is not None else time.perf_counter()) - start

    try:
        yield elapsed
    finally:
        end = time.perf_counter()


# -- git ------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    """Run git for set-up and inspection, failing loudly."""
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {result.stderr.strip()}")
    return result.stdout


def make_repo(path: Path, n_files: int) -> Path:
    """A repository on branch `main` with `n_files` small text files in one commit.

    The files are spread over directories of 100 so no directory gets huge; the git
    identity lives in the repo's own config, never the user's.
    """
    path.mkdir(parents=True, exist_ok=True)
    git(path, "-c", "init.defaultBranch=main", "init", "-q")
    git(path, "config", "user.name", GIT_NAME)
    git(path, "config", "user.email", GIT_EMAIL)
    git(path, "config", "commit.gpgsign", "false")
    per_dir = 100
    for i in range(n_files):
        directory = path / "src" / f"pkg{i // per_dir:03d}"
        if i % per_dir == 0:
            directory.mkdir(parents=True, exist_ok=True)
        body = "".join(f"    value_{j} = {i * 31 + j}\n" for j in range(12))
        (directory / f"module_{i:05d}.py").write_text(
            f'"""Generated module {i}."""\n\n\ndef f_{i}():\n{body}    return value_0\n'
        )
    (path / "README.md").write_text(f"# perf repo\n\n{n_files} generated files.\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial commit")
    return path


# -- the seedbed CLI --------------------------------------------------------------------


def cli(data_dir: Path, *args: str | Path) -> str:
    """`seedbed --data-dir D …` in this process (for set-up); its stdout, or raise."""
    from seedbed.cli import main

    out = io.StringIO()
    argv = ["--data-dir", str(data_dir), *map(str, args)]
    try:
        code = main(argv, out=out)
    except SystemExit as exc:  # argparse's own exits
        code = int(exc.code or 0)
    if code != 0:
        raise RuntimeError(f"seedbed {' '.join(argv)} exited {code}")
    return out.getvalue()


def cli_subprocess(
    data_dir: Path, *args: str | Path, timeout: float = 3600, env: dict[str, str] | None = None
) -> str:
    """`python -m seedbed --data-dir D …` as a real process (`env` added to this one's);
    its stdout, or raise."""
    argv = [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir), *map(str, args)]
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[2:])} exited {result.returncode}: {result.stderr.strip()[-2000:]}"
        )
    return result.stdout
