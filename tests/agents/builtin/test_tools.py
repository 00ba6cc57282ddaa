"""The built-in agent's tools against real files, a real git worktree and real processes:
each tool's behaviour, its caps and notes, argument errors, and confinement (every escape
through every path-taking tool is refused and nothing outside the worktree changes)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from seedbed.agents.builtin import files
from seedbed.agents.builtin.command import OutputCollector
from seedbed.agents.builtin.paths import PathRefused, Resolved, resolve_path
from seedbed.agents.builtin.tools import (
    ARGUMENT_MODELS,
    MAX_OUTPUT,
    SEARCH_WORKER,
    TOOL_KINDS,
    TOOL_SPECS,
    Toolbox,
    ToolResult,
    check_arguments,
)
from seedbed.agents.process import ManagedProcess, group_alive
from seedbed.domain.events import ToolKind
from tests.conftest import git, make_repo

SENTINEL = "SENTINEL outside the worktree\n"


# --- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    """A linked git worktree (its `.git` is a file) with tracked, untracked and ignored
    files, next to a sentinel file and directory outside it."""
    repo = make_repo(
        tmp_path / "repo",
        {
            "README.md": "# demo\n",
            "src/app.py": "def main():\n    print('hello')\n",
            ".gitignore": "build/\n*.log\n",
        },
    )
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "task", str(wt))
    (wt / "notes.txt").write_text("untracked hello\n")
    (wt / "build").mkdir()
    (wt / "build" / "out.txt").write_text("ignored hello\n")
    (wt / "debug.log").write_text("ignored hello\n")
    (tmp_path / "outside.txt").write_text(SENTINEL)
    (tmp_path / "outside_dir").mkdir()
    (tmp_path / "outside_dir" / "secret.txt").write_text(SENTINEL)
    return wt


def call(toolbox: Toolbox, name: str, **arguments: object) -> ToolResult:
    return asyncio.run(toolbox.call(name, json.dumps(arguments)))


def ok(toolbox: Toolbox, name: str, **arguments: object) -> str:
    result = call(toolbox, name, **arguments)
    assert not result.is_error, result.output
    return result.output


def error(toolbox: Toolbox, name: str, **arguments: object) -> str:
    result = call(toolbox, name, **arguments)
    assert result.is_error, result.output
    return result.output


def snapshot(top: Path, skip: Path) -> dict[str, tuple[str, object]]:
    """Every entry under `top` except `skip`: kind, and content or link target."""
    seen: dict[str, tuple[str, object]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        current = Path(dirpath)
        if current == skip:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = current / name
            if path == skip:
                continue
            rel = str(path.relative_to(top))
            if path.is_symlink():
                seen[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                seen[rel] = ("dir", None)
            else:
                stat = path.stat()
                seen[rel] = ("file", (path.read_bytes(), stat.st_mode, stat.st_mtime_ns))
    return seen


# --- specs and arguments ----------------------------------------------------------------


def test_specs_match_the_argument_models_and_kinds():
    assert [spec.name for spec in TOOL_SPECS] == [
        "read_file",
        "write_file",
        "edit_file",
        "list_files",
        "search",
        "run_command",
    ]
    for spec in TOOL_SPECS:
        model = ARGUMENT_MODELS[spec.name]
        parameters = spec.parameters
        assert parameters["type"] == "object"
        assert parameters["additionalProperties"] is False
        assert set(parameters["properties"]) == set(model.model_fields)
        required = {name for name, info in model.model_fields.items() if info.is_required()}
        assert set(parameters["required"]) == required
        assert spec.description and len(spec.description) < 400
        json.dumps(spec.parameters)  # plain JSON
    assert TOOL_KINDS == {
        "read_file": ToolKind.READ,
        "list_files": ToolKind.READ,
        "write_file": ToolKind.EDIT,
        "edit_file": ToolKind.EDIT,
        "search": ToolKind.SEARCH,
        "run_command": ToolKind.COMMAND,
    }


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("read_file", '{"path": "a"', "not valid JSON"),
        ("read_file", "[1, 2]", "must be a JSON object, not an array"),
        ("read_file", '"a.txt"', "must be a JSON object, not a string"),
        ("read_file", "{}", "path is required"),
        ("read_file", '{"path": "a", "lines": 3}', "lines is not an argument of this tool"),
        ("read_file", '{"path": 7}', "path: Input should be a valid string (got 7)"),
        ("read_file", '{"path": "a", "offset": "3"}', "offset: Input should be a valid integer"),
        ("read_file", '{"path": "a", "offset": 0}', "offset: Input should be greater than"),
        ("run_command", '{"command": "true", "timeout_seconds": 5000}', "less than or equal"),
        ("write_file", '{"path": "a"}', "content is required"),
        ("delete_file", '{"path": "a"}', "unknown tool 'delete_file'"),
    ],
)
def test_bad_arguments_and_unknown_tools_are_error_results(tmp_path, name, arguments, expected):
    result = asyncio.run(Toolbox(tmp_path).call(name, arguments))
    assert result.is_error
    assert expected in result.output
    if name in ARGUMENT_MODELS:
        assert f"{name} takes {{" in result.output  # says what the tool takes


def test_null_optional_arguments_and_empty_argument_text_are_accepted():
    args = check_arguments("read_file", '{"path": "a", "offset": null, "limit": null}')
    assert args.model_dump() == {"path": "a", "offset": None, "limit": None}
    assert check_arguments("list_files", "").model_dump() == {"path": None}
    assert check_arguments("run_command", '{"command": "x", "timeout_seconds": 5}')


# --- pure helpers -----------------------------------------------------------------------


def test_resolve_path_lexical_rules(tmp_path):
    root = os.path.realpath(tmp_path)
    assert resolve_path(root, "src/app.py") == Resolved(("src", "app.py"))
    assert resolve_path(root, "./src//x/../app.py").rel == "src/app.py"
    assert resolve_path(root, "", allow_root=True) == Resolved(())
    assert resolve_path(root, ".", allow_root=True).shown == "."
    assert resolve_path(root, "sub/..", allow_root=True).parts == ()
    assert resolve_path(root, ".gitignore").rel == ".gitignore"
    assert resolve_path(root, ".github/ci.yml").rel == ".github/ci.yml"
    refused = {
        "": "empty",
        ".": "empty",
        "sub/..": "worktree root",
        "/etc/passwd": "absolute",
        f"{root}/src/app.py": "use 'src/app.py'",
        "..": "outside",
        "../x": "outside",
        "a/../../x": "outside",
        ".git": ".git",
        ".git/config": ".git",
        ".GIT/hooks/x": ".git",
        "sub/.Git/x": ".git",
        "a\0b": "NUL",
    }
    for raw, message in refused.items():
        with pytest.raises(PathRefused, match=message):
            resolve_path(root, raw)


def test_cap_text_keeps_head_and_tail_with_a_note():
    assert files.cap_text("short", 100) == "short"
    text = "".join(f"{i:05}\n" for i in range(10_000))
    capped = files.cap_text(text, 1000)
    assert len(capped) <= 1000
    assert capped.startswith("00000\n") and capped.endswith("09999\n")
    assert "characters cut here" in capped


def test_output_collector_keeps_head_and_tail_and_counts_the_cut():
    collector = OutputCollector(head_chars=20, tail_chars=20)
    for i in range(100):
        collector.add(f"line {i:02}")  # 8 characters + newline
    text = collector.text()
    lines = text.split("\n")
    assert lines[:2] == ["line 00", "line 01"]
    assert lines[-2:] == ["line 98", "line 99"]
    assert "[… 96 lines (768 characters) cut here …]" in text
    small = OutputCollector(head_chars=100, tail_chars=100)
    small.add("a")
    small.add("b")
    assert small.text() == "a\nb"


# --- read_file --------------------------------------------------------------------------


def test_read_file_numbers_lines_and_reads_a_range(worktree):
    toolbox = Toolbox(worktree)
    assert ok(toolbox, "read_file", path="src/app.py") == (
        "     1\tdef main():\n     2\t    print('hello')"
    )
    (worktree / "ten.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    output = ok(toolbox, "read_file", path="ten.txt", offset=3, limit=2)
    assert output.split("\n") == [
        "     3\tline 3",
        "     4\tline 4",
        "[Lines 3-4 of 10 shown. To read on, call read_file with offset=5.]",
    ]
    assert ok(toolbox, "read_file", path="ten.txt", offset=9).split("\n") == [
        "     9\tline 9",
        "    10\tline 10",
    ]
    assert "past the end of ten.txt (10 lines)" in error(
        toolbox, "read_file", path="ten.txt", offset=11
    )


def test_read_file_caps_lines_and_characters_and_says_how_to_read_on(worktree):
    toolbox = Toolbox(worktree)
    (worktree / "many.txt").write_text("".join(f"{i}\n" for i in range(1, 2501)))
    output = ok(toolbox, "read_file", path="many.txt")
    assert output.count("\n") == 2000
    assert output.endswith(
        "[Lines 1-2000 of 2500 shown. To read on, call read_file with offset=2001.]"
    )

    (worktree / "wide.txt").write_text(("x" * 99 + "\n") * 600)  # 60,000 characters
    output = ok(toolbox, "read_file", path="wide.txt", limit=600)
    assert len(output) <= files.OUTPUT_BUDGET + 200
    last_shown = int(output.split("\n")[-2].split("\t")[0])
    assert output.endswith(
        f"[Lines 1-{last_shown} of 600 shown. "
        f"To read on, call read_file with offset={last_shown + 1}.]"
    )

    (worktree / "long.txt").write_text("y" * 100_000 + "\nend")
    output = ok(toolbox, "read_file", path="long.txt")
    first, second = output.split("\n")
    assert first == f"     1\t{'y' * 2000} [… line cut; it is 100001 bytes long]"
    assert second == "     2\tend"


def test_read_file_special_files(worktree):
    toolbox = Toolbox(worktree)
    (worktree / "empty.txt").write_text("")
    assert ok(toolbox, "read_file", path="empty.txt") == "[empty.txt is empty]"
    (worktree / "crlf.txt").write_bytes(b"one\r\ntwo\r\n")
    assert ok(toolbox, "read_file", path="crlf.txt") == "     1\tone\n     2\ttwo"
    (worktree / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    assert "binary file (11 bytes)" in error(toolbox, "read_file", path="image.png")
    assert error(toolbox, "read_file", path="src") == "src: is a directory"
    assert (
        error(toolbox, "read_file", path="missing.txt") == "missing.txt: no such file or directory"
    )
    assert "a parent of this path is a file" in error(toolbox, "read_file", path="README.md/x")
    os.mkfifo(worktree / "fifo")
    assert "not a regular file" in error(toolbox, "read_file", path="fifo")


def test_read_file_follows_a_symlink_that_stays_inside(worktree):
    (worktree / "alias.md").symlink_to("README.md")
    (worktree / "srclink").symlink_to("src")
    toolbox = Toolbox(worktree)
    assert ok(toolbox, "read_file", path="alias.md") == "     1\t# demo"
    assert "print('hello')" in ok(toolbox, "read_file", path="srclink/app.py")


# --- write_file and edit_file -----------------------------------------------------------


def test_write_file_creates_parents_and_overwrites_keeping_the_mode(worktree):
    toolbox = Toolbox(worktree)
    assert ok(toolbox, "write_file", path="new/deep/x.txt", content="a\nb\n") == (
        "Created new/deep/x.txt (2 lines, 4 bytes)"
    )
    assert (worktree / "new/deep/x.txt").read_text() == "a\nb\n"
    script = worktree / "run.sh"
    script.write_text("old\n")
    script.chmod(0o755)
    assert ok(toolbox, "write_file", path="run.sh", content="né") == (
        "Overwrote run.sh (1 lines, 3 bytes)"
    )
    assert script.read_text() == "né"
    assert script.stat().st_mode & 0o777 == 0o755
    assert error(toolbox, "write_file", path="src", content="x") == "src: is a directory"
    assert "a parent of this path is a file" in error(
        toolbox, "write_file", path="README.md/x", content="x"
    )
    assert sorted(p.name for p in worktree.iterdir() if ".tmp" in p.name) == []


def test_write_and_edit_break_a_hard_link_to_a_file_outside(worktree, tmp_path):
    outside = tmp_path / "outside.txt"
    os.link(outside, worktree / "hard.txt")
    toolbox = Toolbox(worktree)
    ok(toolbox, "edit_file", path="hard.txt", old_text="SENTINEL", new_text="changed")
    assert outside.read_text() == SENTINEL
    assert (worktree / "hard.txt").read_text() == SENTINEL.replace("SENTINEL", "changed")
    os.link(outside, worktree / "hard2.txt")
    ok(toolbox, "write_file", path="hard2.txt", content="new")
    assert outside.read_text() == SENTINEL


def test_edit_file_replaces_exactly_one_occurrence(worktree):
    toolbox = Toolbox(worktree)
    output = ok(
        toolbox, "edit_file", path="src/app.py", old_text="print('hello')", new_text="return 1"
    )
    assert output == "Edited src/app.py: replaced 1 occurrence at line 2"
    assert (worktree / "src/app.py").read_text() == "def main():\n    return 1\n"

    (worktree / "twice.txt").write_text("x = 1\nx = 1\n")
    message = error(toolbox, "edit_file", path="twice.txt", old_text="x = 1", new_text="y")
    assert "old_text occurs 2 times in twice.txt; it must occur exactly once" in message
    message = error(toolbox, "edit_file", path="twice.txt", old_text="z = 1", new_text="y")
    assert "old_text occurs 0 times in twice.txt" in message
    assert (worktree / "twice.txt").read_text() == "x = 1\nx = 1\n"
    assert "old_text is empty" in error(
        toolbox, "edit_file", path="twice.txt", old_text="", new_text="y"
    )
    assert "same as old_text" in error(
        toolbox, "edit_file", path="twice.txt", old_text="x", new_text="x"
    )
    assert error(toolbox, "edit_file", path="nope.txt", old_text="a", new_text="b") == (
        "nope.txt: no such file or directory"
    )


def test_edit_file_keeps_crlf_and_bytes_that_are_not_utf8(worktree):
    toolbox = Toolbox(worktree)
    (worktree / "win.txt").write_bytes(b"a\r\nb\r\nc\r\n")
    ok(toolbox, "edit_file", path="win.txt", old_text="a\nb\n", new_text="A\nB\n")
    assert (worktree / "win.txt").read_bytes() == b"A\r\nB\r\nc\r\n"
    (worktree / "latin.txt").write_bytes(b"caf\xe9 = 1\n")
    ok(toolbox, "edit_file", path="latin.txt", old_text="= 1", new_text="= 2")
    assert (worktree / "latin.txt").read_bytes() == b"caf\xe9 = 2\n"
    (worktree / "bin.dat").write_bytes(b"a\0b")
    assert "binary file" in error(toolbox, "edit_file", path="bin.dat", old_text="a", new_text="c")


# --- list_files and search --------------------------------------------------------------


def test_list_files_lists_tracked_and_untracked_but_not_ignored(worktree):
    toolbox = Toolbox(worktree)
    (worktree / "README.md").unlink()  # tracked but deleted: not listed
    assert ok(toolbox, "list_files").split("\n") == [".gitignore", "notes.txt", "src/app.py"]
    assert ok(toolbox, "list_files", path=".") == ok(toolbox, "list_files", path="")
    assert ok(toolbox, "list_files", path="src") == "src/app.py"
    assert ok(toolbox, "list_files", path="build") == "[no files under build]"
    assert error(toolbox, "list_files", path="nowhere") == "nowhere: no such file or directory"


def test_list_files_caps_the_listing_with_a_note(worktree):
    many = worktree / "many"
    many.mkdir()
    for i in range(1100):
        (many / f"f{i:04}.txt").write_text("")
    output = ok(Toolbox(worktree), "list_files", path="many")
    lines = output.split("\n")
    assert lines[0] == "many/f0000.txt"
    assert lines[-1] == "[1000 of 1100 files listed; pass a subdirectory as path to see the rest.]"


def test_search_matches_lines_skipping_ignored_and_binary_files(worktree):
    toolbox = Toolbox(worktree)
    (worktree / "blob.bin").write_bytes(b"hello\0world")
    assert ok(toolbox, "search", pattern="hel+o").split("\n") == [
        "notes.txt:1: untracked hello",
        "src/app.py:2:     print('hello')",
    ]
    assert (
        ok(toolbox, "search", pattern="(?i)HELLO", path="src") == "src/app.py:2:     print('hello')"
    )
    assert ok(toolbox, "search", pattern="def", path="src/app.py") == "src/app.py:1: def main():"
    assert ok(toolbox, "search", pattern="nothing here") == (
        "[No matches for 'nothing here' in . (4 files searched)]"
    )
    assert "invalid regular expression '(unclosed'" in error(toolbox, "search", pattern="(unclosed")


def test_a_file_name_that_is_not_utf8_is_listed_and_searched_printably(worktree):
    (worktree / os.fsdecode(b"caf\xe9.txt")).write_bytes(b"hello there\n")
    toolbox = Toolbox(worktree)
    assert "caf\ufffd.txt" in ok(toolbox, "list_files").split("\n")
    output = ok(toolbox, "search", pattern="there")
    assert output == "caf\ufffd.txt:1: hello there"
    output.encode("utf-8")  # no lone surrogates reach the model


def test_search_caps_matches_and_cuts_long_lines(worktree):
    (worktree / "lots.txt").write_text("match\n" * 300 + "match" + "z" * 1000 + "\n")
    output = ok(Toolbox(worktree), "search", pattern="^match", path="lots.txt")
    lines = output.split("\n")
    assert lines[0] == "lots.txt:1: match"
    assert len(lines) == 201
    assert lines[-1] == "[Stopped after 200 matches; narrow the pattern or the path to see more.]"
    output = ok(Toolbox(worktree), "search", pattern="z{10}", path="lots.txt")
    assert output.startswith("lots.txt:301: matchzzz")
    assert output.endswith("characters cut from this line]")


def test_search_does_not_follow_symlinks_out_of_the_worktree(worktree, tmp_path):
    (worktree / "evil.txt").symlink_to(tmp_path / "outside.txt")
    (worktree / "evil_dir").symlink_to(tmp_path / "outside_dir")
    toolbox = Toolbox(worktree)
    assert "evil.txt" in ok(toolbox, "list_files").split("\n")  # the link's own name
    assert ok(toolbox, "search", pattern="SENTINEL").startswith("[No matches")


# --- run_command ------------------------------------------------------------------------


def test_run_command_combines_output_and_reports_the_exit_code(worktree):
    toolbox = Toolbox(worktree)
    assert ok(toolbox, "run_command", command="echo a; echo b >&2; echo c") == (
        "a\nb\nc\n[exit code 0]"
    )
    assert (
        ok(toolbox, "run_command", command="pwd") == f"{os.path.realpath(worktree)}\n[exit code 0]"
    )
    assert ok(toolbox, "run_command", command="cat; echo stdin was empty") == (
        "stdin was empty\n[exit code 0]"
    )
    assert error(toolbox, "run_command", command="echo failing; exit 3") == (
        "failing\n[exit code 3]"
    )
    assert ok(toolbox, "run_command", command="true") == "[no output]\n[exit code 0]"
    assert error(toolbox, "run_command", command="kill -SEGV $$") == (
        "[no output]\n[killed by signal SIGSEGV]"
    )
    assert "syntax error" in error(toolbox, "run_command", command="if then fi").lower()


def test_run_command_in_a_missing_worktree_is_an_error_result(tmp_path):
    output = error(Toolbox(tmp_path / "gone"), "run_command", command="true")
    assert output == "the command could not be started: No such file or directory"


def test_run_command_uses_the_given_environment(worktree):
    toolbox = Toolbox(worktree, env={"PATH": os.environ["PATH"], "ONLY": "this"})
    assert ok(toolbox, "run_command", command='echo "$ONLY ${HOME-unset}"') == (
        "this unset\n[exit code 0]"
    )


KEY_ROUTES = {
    "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus",
    "GNOME_KEYRING_CONTROL": "/run/user/1000/keyring",
    "OPENAI_API_KEY": "sk-openai-secret",
    "ANTHROPIC_API_KEY": "sk-ant-secret",
    "OPENROUTER_API_KEY": "sk-or-secret",
    "MY_SERVICE_API_KEY": "svc-secret",
}


def test_run_command_gets_no_way_to_the_users_keys(worktree, monkeypatch):
    given = {"PATH": os.environ["PATH"], "KEEP": "kept", "API_KEY_HINT": "kept too", **KEY_ROUTES}
    snapshot_of_given = dict(given)
    for toolbox in (Toolbox(worktree, env=given), None):
        if toolbox is None:  # the default environment: the engine's own, scrubbed the same way
            for name, value in KEY_ROUTES.items():
                monkeypatch.setenv(name, value)
            monkeypatch.setenv("KEEP", "kept")
            toolbox = Toolbox(worktree)
        output = ok(toolbox, "run_command", command="env")
        names = {line.split("=", 1)[0] for line in output.split("\n")}
        assert "KEEP=kept" in output.split("\n")
        assert not names & set(KEY_ROUTES), output
        assert "secret" not in output
    assert "API_KEY_HINT=kept too" in ok(Toolbox(worktree, env=given), "run_command", command="env")
    assert given == snapshot_of_given  # the caller's dict is not changed


def test_run_command_carries_the_run_marker_that_recovery_looks_for(worktree):
    # Recovery reads /proc/<pid>/environ (the environment at exec), not the shell's view.
    command = "tr '\\0' '\\n' < /proc/$$/environ | grep '^SEEDBED_RUN_ID=' || echo none"
    assert ok(Toolbox(worktree, run_id=42), "run_command", command=command) == (
        "SEEDBED_RUN_ID=42\n[exit code 0]"
    )
    nested = "sh -c 'sleep 0 & echo $SEEDBED_RUN_ID'"
    assert ok(Toolbox(worktree, run_id=7), "run_command", command=nested) == "7\n[exit code 0]"
    env = {"PATH": os.environ["PATH"]}
    assert ok(Toolbox(worktree, env, run_id=0), "run_command", command=command).startswith(
        "SEEDBED_RUN_ID=0\n"
    )
    assert ok(Toolbox(worktree, env), "run_command", command=command) == "none\n[exit code 0]"


def test_run_command_caps_output_keeping_head_and_tail(worktree):
    toolbox = Toolbox(worktree)
    output = ok(toolbox, "run_command", command="seq 1 200000")
    assert len(output) <= MAX_OUTPUT
    lines = output.split("\n")
    assert lines[:3] == ["1", "2", "3"]
    assert lines[-2:] == ["200000", "[exit code 0]"]
    assert any(line.startswith("[… ") and "lines (" in line for line in lines)

    output = ok(toolbox, "run_command", command="head -c 100000 /dev/zero | tr '\\0' x; echo")
    assert output.startswith("x" * 100)
    assert "cut from this line" in output
    assert len(output) < 10_000


def pid_in(path: Path, within: float = 5.0) -> int:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.01)
    raise AssertionError(f"{path} was not written")


def group_gone(pgid: int, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_run_command_timeout_kills_the_whole_group(worktree):
    toolbox = Toolbox(worktree)
    started = time.monotonic()
    output = error(
        toolbox,
        "run_command",
        command="echo $$ > pid; echo started; sleep 1000 & sleep 1000",
        timeout_seconds=0.5,
    )
    assert time.monotonic() - started < 4
    assert output == (
        "started\n[timed out after 0.5 s: the command and everything it started were killed]"
    )
    assert group_gone(pid_in(worktree / "pid"))


def test_cancelling_run_command_kills_the_whole_group(worktree):
    toolbox = Toolbox(worktree)
    pid_file = worktree / "pid"

    async def main() -> float:
        task = asyncio.create_task(
            toolbox.call("run_command", json.dumps({"command": "echo $$ > pid; sleep 1000 & wait"}))
        )
        while not (pid_file.exists() and pid_file.read_text().strip()):
            await asyncio.sleep(0.01)
        assert group_alive(int(pid_file.read_text()))
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started

    elapsed = asyncio.run(main())
    assert elapsed < 3
    assert group_gone(pid_in(pid_file))


# --- the search worker ------------------------------------------------------------------
# `re` holds the GIL for a whole match: a catastrophic pattern in a thread would freeze
# the event loop. The search runs in a worker process that is killed instead.

# Against "a" * 28 + "b": about 2**29 steps of backtracking, some 20 s of `re` here. Far
# beyond the timeouts below, and finite: a search run in a thread (the bug) ends, and the
# test fails, instead of freezing the test process for good.
CATASTROPHIC = "(a+)+$"


def search_workers() -> list[int]:
    """Pids of this test process's live search workers."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and SEARCH_WORKER.encode() in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture
def catastrophic(worktree: Path) -> Path:
    (worktree / "evil.txt").write_text("a" * 28 + "b\n")
    return worktree


def test_a_catastrophic_search_times_out_and_the_event_loop_keeps_running(catastrophic):
    toolbox = Toolbox(catastrophic, search_timeout=1.0)

    async def main() -> tuple[ToolResult, float, list[float], set[int]]:
        gaps: list[float] = []
        workers: set[int] = set()
        searching = True

        async def ticker() -> None:
            last = time.monotonic()
            while searching:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now
                workers.update(search_workers())

        ticking = asyncio.create_task(ticker())
        started = time.monotonic()
        result = await toolbox.call("search", json.dumps({"pattern": CATASTROPHIC}))
        elapsed = time.monotonic() - started
        searching = False
        await ticking
        return result, elapsed, gaps, workers

    result, elapsed, gaps, workers = asyncio.run(main())
    assert result == ToolResult(
        output="the search took longer than 1 s; use a simpler pattern or a narrower path",
        is_error=True,
    )
    assert 1.0 <= elapsed < 4
    assert len(gaps) > 30 and max(gaps) < 0.3, f"the loop stalled for {max(gaps):.2f} s"
    assert len(workers) == 1
    assert group_gone(workers.pop())


def test_cancelling_a_search_kills_the_worker_process_group(catastrophic):
    toolbox = Toolbox(catastrophic)  # the default timeout: only cancellation ends it

    async def main() -> tuple[int, float]:
        task = asyncio.create_task(toolbox.call("search", json.dumps({"pattern": CATASTROPHIC})))
        deadline = time.monotonic() + 10
        while not (workers := search_workers()):
            assert time.monotonic() < deadline, "no search worker started"
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # well into the backtracking
        assert not task.done()
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return workers[0], time.monotonic() - started

    pid, elapsed = asyncio.run(main())
    assert elapsed < 3
    assert group_gone(pid)  # its own group: pid == pgid
    assert search_workers() == []


def test_a_bad_pattern_is_refused_before_any_worker_starts(worktree, monkeypatch):
    async def no_worker(spec: object) -> None:
        raise AssertionError("a worker was started")

    monkeypatch.setattr(ManagedProcess, "start", no_worker)
    output = error(Toolbox(worktree), "search", pattern="(a+")
    assert output == (
        "invalid regular expression '(a+': missing ), unterminated subpattern at position 0"
    )


def test_the_search_worker_ignores_python_files_in_the_worktree(worktree):
    """The worker runs in the worktree; what the worktree holds must not be imported."""
    (worktree / "json.py").write_text("raise SystemExit('json.py from the worktree')\n")
    (worktree / "seedbed").mkdir()
    (worktree / "seedbed" / "__init__.py").write_text("raise SystemExit('worktree seedbed')\n")
    toolbox = Toolbox(worktree, env={**os.environ, "PYTHONPATH": str(worktree)})
    assert ok(toolbox, "search", pattern="hel+o", path="src") == "src/app.py:2:     print('hello')"
    assert ok(toolbox, "search", pattern="SystemExit").split("\n") == [
        "json.py:1: raise SystemExit('json.py from the worktree')",
        "seedbed/__init__.py:1: raise SystemExit('worktree seedbed')",
    ]


def test_search_errors_from_the_worker_are_error_results(worktree):
    toolbox = Toolbox(worktree)
    assert error(toolbox, "search", pattern="x", path="missing") == (
        "missing: no such file or directory"
    )
    env = {**toolbox.env, "GIT_DIR": str(worktree / "nowhere")}  # git ls-files fails
    message = error(Toolbox(worktree, env=env), "search", pattern="x")
    assert message.startswith("git ls-files failed: ")


# --- confinement ------------------------------------------------------------------------

PATH_TOOLS = {
    "read_file": {},
    "write_file": {"content": "OVERWRITTEN"},
    "edit_file": {"old_text": "SENTINEL", "new_text": "EDITED"},
    "list_files": {},
    "search": {"pattern": "SENTINEL"},
}

ESCAPES = {
    "/etc/passwd": "absolute paths are not allowed",
    "{tmp}/outside.txt": "absolute paths are not allowed",
    "../outside.txt": "leads outside the worktree",
    "a/../../outside.txt": "leads outside the worktree",
    "../outside_dir/secret.txt": "leads outside the worktree",
    "link_file": "resolves outside the worktree through a symbolic link",
    "link_dir": "resolves outside the worktree through a symbolic link",
    "link_dir/secret.txt": "resolves outside the worktree through a symbolic link",
    "link_dir/new.txt": "resolves outside the worktree through a symbolic link",
    "link_parent": "resolves outside the worktree through a symbolic link",
    "link_parent/outside.txt": "resolves outside the worktree through a symbolic link",
    "src/up/outside.txt": "resolves outside the worktree through a symbolic link",
    "dangling/new.txt": "resolves outside the worktree through a symbolic link",
    "link_git": "resolves into .git",
    ".git": "inside .git",
    ".git/config": "inside .git",
    ".GIT/hooks/x": "inside .git",
    ".Git/HEAD": "inside .git",
    "src/.git/x": "inside .git",
    "README.md\0.txt": "NUL byte",
}


@pytest.fixture
def escape_links(worktree: Path, tmp_path: Path) -> Path:
    (worktree / "link_file").symlink_to(tmp_path / "outside.txt")
    (worktree / "link_dir").symlink_to(tmp_path / "outside_dir")
    (worktree / "link_parent").symlink_to("..")
    (worktree / "src" / "up").symlink_to("../..")
    (worktree / "dangling").symlink_to(tmp_path / "not_yet")
    (worktree / "link_git").symlink_to(".git")
    return worktree


@pytest.mark.parametrize("tool", PATH_TOOLS)
def test_every_escape_through_every_path_tool_is_refused(escape_links, tmp_path, tool):
    worktree = escape_links
    toolbox = Toolbox(worktree)
    before_outside = snapshot(tmp_path, skip=worktree)
    before_inside = snapshot(worktree, skip=worktree / "nothing")
    for raw, message in ESCAPES.items():
        path = raw.replace("{tmp}", str(tmp_path))
        result = call(toolbox, tool, path=path, **PATH_TOOLS[tool])
        assert result.is_error, f"{tool} {path!r} was allowed: {result.output}"
        assert message in result.output, f"{tool} {path!r}: {result.output}"
        assert "SENTINEL" not in result.output
        assert "root:" not in result.output
    assert snapshot(tmp_path, skip=worktree) == before_outside
    assert snapshot(worktree, skip=worktree / "nothing") == before_inside
    assert (tmp_path / "outside.txt").read_text() == SENTINEL
    assert not (tmp_path / "not_yet").exists()


def test_a_symlink_made_by_run_command_is_refused_afterwards(worktree, tmp_path):
    toolbox = Toolbox(worktree)
    ok(toolbox, "run_command", command="ln -s ../outside.txt made && ln -s ../outside_dir madedir")
    before = snapshot(tmp_path, skip=worktree)
    for tool, extra in PATH_TOOLS.items():
        for path in ("made", "madedir/secret.txt", "madedir/fresh.txt"):
            output = error(toolbox, tool, path=path, **extra)
            assert "resolves outside the worktree" in output
    assert snapshot(tmp_path, skip=worktree) == before


def test_the_git_directory_of_a_main_checkout_is_refused(tmp_path):
    repo = make_repo(tmp_path / "plain")
    (repo / "g").symlink_to(".git")
    toolbox = Toolbox(repo)
    config = (repo / ".git" / "config").read_text()
    for tool, extra in PATH_TOOLS.items():
        for path in (".git/config", "g/config", "g", ".git/hooks/pre-commit"):
            assert ".git" in error(toolbox, tool, path=path, **extra)
    assert (repo / ".git" / "config").read_text() == config
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    assert ".git" not in ok(toolbox, "list_files")
    assert ok(toolbox, "search", pattern="repositoryformatversion").startswith("[No matches")


def test_the_open_walk_refuses_a_symlink_that_appeared_after_the_check(worktree, tmp_path):
    """The second line of defence: even a path that passed the check is opened without
    following a symlink in any component."""
    root = os.path.realpath(worktree)
    (worktree / "swapped").symlink_to(tmp_path / "outside_dir")
    for parts in (("swapped", "secret.txt"), ("swapped", "new.txt")):
        with pytest.raises(OSError, match="symbolic links"):
            files.read_file(root, Resolved(parts))
        with pytest.raises(OSError, match="symbolic links"):
            files.write_file(root, Resolved(parts), "x")
    (worktree / "swapped_file").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(OSError, match="symbolic links"):
        files.read_file(root, Resolved(("swapped_file",)))
    with pytest.raises(PathRefused, match="not a regular file"):
        files.write_file(root, Resolved(("swapped_file",)), "x")
    assert (tmp_path / "outside.txt").read_text() == SENTINEL
    assert not (tmp_path / "outside_dir" / "new.txt").exists()
