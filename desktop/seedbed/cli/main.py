"""`seedbed …`: parse, dispatch, turn errors into one line and an exit status."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from seedbed.cli.parser import build_parser, join_extra_args, split_server_command, window_args
from seedbed.cli.reads import READ_COMMANDS, READ_ONLY_COMMANDS, Reads
from seedbed.cli.text import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from seedbed.core.data_dir import read_only_problem, storage_problem
from seedbed.domain.errors import SeedbedError, UserError
from seedbed.paths import resolve_data_dir

GuiLauncher = Callable[[Path, Path | None, int | None, str | None, str, bool, str | None], int]


def main(
    argv: Sequence[str] | None = None,
    out: TextIO | None = None,
    gui: GuiLauncher | None = None,
) -> int:
    """The command line. Without a command (or with `gui`) it opens the window through
    `gui(data_dir, screenshot, select, size, view, probe, engine_socket)`, which __main__
    passes in: the CLI itself
    never loads Qt. Without a launcher, it prints the help."""
    arguments = join_extra_args(sys.argv[1:] if argv is None else argv)
    args = window_args(arguments) if gui is not None else None
    if args is None:
        arguments, server_command = split_server_command(arguments)
        try:  # a number out of its model's bounds (cli/model_options.py `number`)
            args = build_parser().parse_args(arguments)
            args.server_command = server_command
        except UserError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return EXIT_USAGE
    if getattr(args, "install_desktop_entry", False):
        from seedbed.cli.desktop_entry import install

        written = install()
        (out or sys.stdout).write("".join(f"{path}\n" for path in written))
        return EXIT_OK
    if getattr(args, "install_service", False):
        from seedbed.cli.service_unit import install as install_service

        try:
            unit = install_service(resolve_data_dir(args.data_dir))
        except (UserError, OSError) as exc:
            sys.stderr.write(f"error: cannot write the unit: {exc}\n")
            return EXIT_USAGE
        (out or sys.stdout).write(
            f"{unit}\nstart it now and at each login: systemctl --user enable --now {unit.name}\n"
        )
        return EXIT_OK
    if args.cmd is None and gui is None:
        build_parser().print_help(out or sys.stdout)
        return EXIT_OK
    name = args.cmd if args.cmd in ("run", "doctor") else f"{args.cmd}_{getattr(args, 'act', '')}"
    try:
        if args.cmd in (None, "gui"):
            if gui is None:
                raise UserError("this entry point cannot open the window; run `seedbed gui`")
            probe = getattr(args, "probe", False)
            # Qt's probe (for doctor) reads no data: a data dir that cannot be used must
            # not fail it, nor is one made for it.
            data_dir = Path() if probe else resolve_data_dir(args.data_dir)
            return gui(
                data_dir,
                getattr(args, "screenshot", None),
                getattr(args, "select", None),
                getattr(args, "size", None),
                getattr(args, "view", "board"),
                probe,
                getattr(args, "engine_socket", None),
            )
        if args.cmd == "doctor":  # before the store is opened: it may be what is wrong
            from seedbed.cli.doctor import report

            return report(args, out or sys.stdout)
        if args.cmd == "mcp" and args.act == "serve":  # stdio is the protocol's
            # Loaded only now: the MCP SDK takes a second to import.
            from seedbed.cli.mcp_serve import serve

            data_dir = resolve_data_dir(args.data_dir)
            return serve(data_dir, getattr(args, "engine_socket", None))
        if args.cmd == "engine":  # the engine's own store and lock, or none at all
            from seedbed.cli.engine_commands import engine_command

            return engine_command(args, out or sys.stdout)
        command = name.replace("-", "_")
        if command in READ_COMMANDS:
            cli: Reads = Reads(args, out or sys.stdout)
        else:
            # The engine, git and the agents load only for a command that needs them, so a
            # list prints in a fraction of a second (start-up speed, not an import cycle).
            from seedbed.cli.commands import Cli

            cli = Cli(args, out or sys.stdout)
        with cli.gateway:
            # With an engine, the engine writes (or refuses): not this process.
            if (
                command not in READ_ONLY_COMMANDS
                and cli.gateway.engine is None
                and cli.ctx.read_only
            ):
                raise UserError(read_only_problem(cli.data_dir))
            handler: Callable[[], int] = getattr(cli, command)
            return handler()
    except UserError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
    except SeedbedError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except (sqlite3.Error, OSError) as exc:
        problem = storage_problem(exc, resolve_data_dir(args.data_dir))
        if problem is None:
            raise
        sys.stderr.write(f"error: {problem}\n")
        return EXIT_USAGE
