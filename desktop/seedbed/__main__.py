"""`python -m seedbed` and the `seedbed` console script."""

from __future__ import annotations

import sys
from pathlib import Path

from seedbed.service.ready_window import READY_FLAG, open_in_ready_window, window_in_own_session


def open_window(
    data_dir: Path,
    screenshot: Path | None,
    select: int | None,
    size: str | None,
    view: str = "board",
    probe: bool = False,
    engine_socket: str | None = None,
) -> int:
    """Qt is imported only now: the headless commands never load it."""
    from seedbed.app import parse_size, probe_platform, run_gui

    if probe:
        return probe_platform()
    size_wanted = parse_size(size) if size else None
    return run_gui(data_dir, screenshot, select, size_wanted, view, engine_socket)


def serve_ready_window(argv: list[str]) -> int:
    """The engine's ready window (service/ready_server.py): Qt, the window's modules and
    the command line imported once; each window a fork of it, which runs its caller's
    command line as `seedbed` would. No QApplication before the fork: each window makes
    its own, in its caller's environment."""
    from seedbed.service.ready_server import serve_main

    def preload() -> None:
        from seedbed.app import preload_window

        preload_window()
        import seedbed.cli  # noqa: F401

    def run(argv: list[str]) -> int:
        from seedbed.cli import main as cli_main

        return cli_main(argv, gui=open_window)

    return serve_main(argv, preload, run)


def main() -> None:
    # The ready window first, before importing anything it would save (ready_window.py).
    if sys.argv[1:2] == [READY_FLAG]:  # the engine's ready window
        sys.exit(serve_ready_window(sys.argv[2:]))
    code = open_in_ready_window(sys.argv[1:])
    if code is None:  # a cold start: the window forked into a session of its own
        code = window_in_own_session(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from seedbed.cli import main as cli_main
    from seedbed.sandbox.relay import FROZEN_FLAG
    from seedbed.sandbox.relay import main as relay_main
    from seedbed.talkback.shim import FROZEN_FLAG as SHIM_FLAG
    from seedbed.talkback.shim import main as shim_main

    if sys.argv[1:2] == [FROZEN_FLAG]:  # the bundle, started as a sandbox's relay
        sys.exit(relay_main(sys.argv[2:]))
    if sys.argv[1:2] == [SHIM_FLAG]:  # the bundle, started as Seedbed's MCP server's shim
        sys.exit(shim_main(sys.argv[2:]))
    sys.exit(cli_main(gui=open_window))


if __name__ == "__main__":
    main()
