"""The window's start parses only the window's options (cli/parser.py `window_args`): what
it reads is what the whole parser reads, and anything else is left to the whole parser."""

from __future__ import annotations

import pytest

from seedbed.cli.parser import build_parser, window_args


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["gui"],
        ["--data-dir", "/tmp/d", "gui", "--select", "3", "--size", "800x600"],
        ["--engine-socket", "/tmp/s", "gui", "--screenshot", "x.png", "--view", "review"],
        ["--data-dir", "/tmp/d"],
        ["gui", "--probe"],
    ],
)
def test_the_window_reads_what_the_whole_parser_reads(argv: list[str]) -> None:
    quick = window_args(argv)
    assert quick is not None
    whole = vars(build_parser().parse_args(argv))
    assert vars(quick) == {name: whole[name] for name in vars(quick)}
    assert set(whole) - set(vars(quick)) <= {"json", "install_desktop_entry", "install_service"}


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["gui", "--help"],
        ["task", "list"],
        ["--json", "gui"],
        ["gui", "--select", "99999999999999999999999"],
        ["gui", "--view", "nowhere"],
        ["gui", "--unknown"],
    ],
)
def test_anything_else_is_left_to_the_whole_parser(argv: list[str]) -> None:
    assert window_args(argv) is None
