"""Run Seedbed's benchmarks: `uv run python tests/perf/run.py --json [--quick] [--only NAME]`.

With --json, stdout is exactly one JSON object of named figures (numbers); progress goes
to stderr. Benchmarks live in `bench_*.py` modules next to this file and register
themselves with `@harness.benchmark("name")`; every such module is imported here.
A benchmark that fails is reported on stderr, its figures are left out, and the exit
status is 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

# Nothing here needs a display; keep Qt from aborting if anything imports it.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from harness import BENCHMARKS, Figures, log, ordered_names  # noqa: E402


def load_benchmarks() -> None:
    for module in sorted(HERE.glob("bench_*.py")):
        importlib.import_module(module.stem)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tests/perf/run.py", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object of figures")
    parser.add_argument("--quick", action="store_true", help="small sizes: well under a minute")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_benchmarks()
    if args.list:
        for name in ordered_names():
            print(name)
        return 0
    unknown = [name for name in args.only if name not in BENCHMARKS]
    if unknown:
        sys.stderr.write(
            f"error: unknown benchmark(s) {', '.join(unknown)}; "
            f"known: {', '.join(ordered_names())}\n"
        )
        return 2
    selected = [name for name in ordered_names() if not args.only or name in args.only]

    figures: Figures = {}
    failed: list[str] = []
    total_start = time.perf_counter()
    for name in selected:
        log(f"{name} ({'quick' if args.quick else 'full'}) …")
        start = time.perf_counter()
        try:
            result = BENCHMARKS[name](args.quick)
        except Exception:
            failed.append(name)
            log(f"{name} FAILED after {time.perf_counter() - start:.1f}s:")
            traceback.print_exc(file=sys.stderr)
            continue
        log(f"{name} done in {time.perf_counter() - start:.1f}s: {result}")
        figures.update(result)
    total = time.perf_counter() - total_start
    log(f"total {total:.1f}s" + (f"; failed: {', '.join(failed)}" if failed else ""))

    if args.json:
        sys.stdout.write(json.dumps(figures, indent=2) + "\n")
    else:
        width = max((len(key) for key in figures), default=0)
        for key, value in figures.items():
            sys.stdout.write(f"{key:<{width}}  {value}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
