"""`seedbed doctor`: the checks core/doctor.py makes, a line each (or --json); exit 1
when the window, git or the data dir cannot work here."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from seedbed.cli.text import EXIT_FAILED, EXIT_OK
from seedbed.core.doctor import examine, failed, restore_backup
from seedbed.paths import resolve_data_dir


def report(args: argparse.Namespace, out: TextIO) -> int:
    """Run every check, write them (a line each, or --json), exit 1 if an essential one
    failed. The data dir is opened there, not before: it may be what is wrong."""
    if getattr(args, "restore_backup", False):
        return restore(args, out)
    checks = examine(args.data_dir)
    if args.json:
        out.write(json.dumps([check.model_dump() for check in checks], indent=2) + "\n")
    else:
        out.writelines(
            f"{check.name:<14} {'ok ' if check.ok else 'NO '} {check.detail}\n" for check in checks
        )
    return EXIT_FAILED if failed(checks) else EXIT_OK


def restore(args: argparse.Namespace, out: TextIO) -> int:
    """`doctor --restore-backup`: the newest good backup in place of a damaged database."""
    done = restore_backup(resolve_data_dir(args.data_dir))
    text = (
        f"moved the damaged database aside to {done.moved_aside}\n"
        f"restored {done.restored} (made {done.made})\n"
    )
    if args.json:
        moved = {"restored": str(done.restored), "moved_aside": str(done.moved_aside)}
        text = json.dumps(moved, indent=2) + "\n"
    out.write(text)
    return EXIT_OK
