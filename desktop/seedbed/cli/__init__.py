"""The headless command line over the engine: `seedbed COMMAND …`.

User mistakes print one line starting with `error:` and exit 2; a failed operation
exits 1; neither prints a traceback.
"""

from seedbed.cli.main import GuiLauncher, main
from seedbed.cli.parser import build_parser, join_extra_args
from seedbed.cli.text import EXIT_FAILED, EXIT_OK, EXIT_USAGE, format_event

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "GuiLauncher",
    "build_parser",
    "format_event",
    "join_extra_args",
    "main",
]
