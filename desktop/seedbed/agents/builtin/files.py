"""The built-in agent's file tools as plain blocking functions over a checked path.

Each returns the text the model reads back or raises ToolError with a message for the
model; `Toolbox` runs them in a thread, except `search`, which runs in a worker process
that can be killed (`search_worker.py`: `re` holds the GIL for as long as a match
takes). Output is bounded here, with a note saying what was left out and how to get it.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import threading

from seedbed.agents.builtin.paths import (
    DirCache,
    PathRefused,
    Resolved,
    is_git_name,
    open_dir,
    open_regular,
    read_bytes,
    replace_file,
)

OUTPUT_BUDGET = 25_000  # characters a tool's own output stays under (notes aside)
READ_MAX_LINES = 2000
LINE_MAX_CHARS = 2000
LIST_MAX_FILES = 1000
SEARCH_MAX_MATCHES = 200
SEARCH_LINE_CHARS = 300
SEARCH_MAX_FILE_BYTES = 2 * 1024 * 1024
EDIT_MAX_BYTES = 10 * 1024 * 1024
BINARY_SNIFF_BYTES = 8192
GIT_TIMEOUT = 60.0


class ToolError(Exception):
    """A tool call that failed; the message is written for the model."""


def is_binary(head: bytes) -> bool:
    return b"\0" in head[:BINARY_SNIFF_BYTES]


def cut_line(line: str, limit: int = LINE_MAX_CHARS) -> str:
    if len(line) <= limit:
        return line
    return f"{line[:limit]} [… {len(line) - limit} characters cut from this line]"


def cap_text(text: str, limit: int) -> str:
    """`text` if it fits, otherwise its head and tail around a note of what was cut."""
    if len(text) <= limit:
        return text
    keep = max(limit - 100, 0)
    head, tail = keep // 3, keep - keep // 3
    cut = len(text) - head - tail
    return f"{text[:head]}\n[… {cut} characters cut here …]\n{text[len(text) - tail :]}"


def number_lines(
    lines: list[str], first: int, budget: int = OUTPUT_BUDGET
) -> tuple[list[str], int]:
    """Lines as `cat -n` shows them, as many as fit in `budget` characters (at least one).

    Returns the numbered lines and how many of `lines` they cover.
    """
    out: list[str] = []
    used = 0
    for number, line in enumerate(lines, first):
        entry = f"{number:6}\t{line}"
        if out and used + len(entry) + 1 > budget:
            break
        out.append(entry)
        used += len(entry) + 1
    return out, len(out)


# --- read, write, edit ------------------------------------------------------------------


def read_file(root: str, path: Resolved, offset: int = 1, limit: int | None = None) -> str:
    """Numbered lines from `offset`, at most `limit` (and the caps); notes a cut."""
    want = min(limit or READ_MAX_LINES, READ_MAX_LINES)
    dir_fd = open_dir(root, path.parts[:-1])
    try:
        with open_regular(dir_fd, path.parts[-1]) as fd, open(fd, "rb", closefd=False) as f:
            if is_binary(f.peek(BINARY_SNIFF_BYTES)):
                size = os.fstat(fd).st_size
                raise ToolError(f"{path.shown} is a binary file ({size} bytes); not shown")
            lines, total = scan_lines(f, offset, want)
    finally:
        os.close(dir_fd)
    if total == 0:
        return f"[{path.shown} is empty]"
    if offset > total:
        raise ToolError(f"offset {offset} is past the end of {path.shown} ({total} lines)")
    numbered, shown = number_lines(lines, offset)
    last = offset + shown - 1
    text = "\n".join(numbered)
    if last < total:
        text += (
            f"\n[Lines {offset}-{last} of {total} shown. "
            f"To read on, call read_file with offset={last + 1}.]"
        )
    return text


def scan_lines(f: io.BufferedReader, offset: int, want: int) -> tuple[list[str], int]:
    """Up to `want` lines from line `offset` (over-long ones cut), and the file's line count.

    Memory stays bounded whatever the file: a line is never held past the cut, and the
    lines after the wanted ones are only counted.
    """
    lines: list[str] = []
    total = 0
    cap = LINE_MAX_CHARS * 4  # bytes: enough for LINE_MAX_CHARS characters of UTF-8
    while len(lines) < want:
        raw = f.readline(cap)
        if not raw:
            return lines, total
        size = len(raw)
        if not raw.endswith(b"\n"):
            while more := f.readline(1 << 20):
                size += len(more)
                if more.endswith(b"\n"):
                    break
        total += 1
        if total >= offset:
            line = raw.decode("utf-8", "replace").rstrip("\n").rstrip("\r")
            if size > len(raw) or len(line) > LINE_MAX_CHARS:
                line = f"{line[:LINE_MAX_CHARS]} [… line cut; it is {size} bytes long]"
            lines.append(line)
    last = b"\n"
    while chunk := f.read(1 << 20):
        total += chunk.count(b"\n")
        last = chunk[-1:]
    return lines, total + (last != b"\n")


def encode(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as error:
        raise ToolError(f"the text cannot be written as UTF-8: {error.reason}") from None


def count_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def write_file(root: str, path: Resolved, content: str) -> str:
    data = encode(content)
    created = replace_file(root, path, data)
    verb = "Created" if created else "Overwrote"
    return f"{verb} {path.shown} ({count_lines(content)} lines, {len(data)} bytes)"


def edit_file(root: str, path: Resolved, old_text: str, new_text: str) -> str:
    if not old_text:
        raise ToolError("old_text is empty; to create or overwrite a file use write_file")
    if old_text == new_text:
        raise ToolError("new_text is the same as old_text; nothing to change")
    data = read_bytes(root, path, EDIT_MAX_BYTES + 1)
    if len(data) > EDIT_MAX_BYTES:
        raise ToolError(f"{path.shown} is over {EDIT_MAX_BYTES} bytes; edit it with run_command")
    if is_binary(data):
        raise ToolError(f"{path.shown} is a binary file; edit_file changes text files only")
    # surrogateescape: bytes that are not UTF-8 are written back exactly as they were.
    text = data.decode("utf-8", "surrogateescape")
    count = text.count(old_text)
    if count == 0 and "\r\n" in text and "\r\n" not in old_text and "\n" in old_text:
        # The model writes "\n"; a file with Windows line endings still matches.
        old_text, new_text = old_text.replace("\n", "\r\n"), new_text.replace("\n", "\r\n")
        count = text.count(old_text)
    if count != 1:
        hint = (
            "copy it exactly from read_file's output, without the line-number prefixes"
            if count == 0
            else "include more surrounding lines so that it occurs exactly once"
        )
        raise ToolError(
            f"old_text occurs {count} times in {path.shown}; it must occur exactly once: {hint}"
        )
    start = text.index(old_text)
    replace_file(root, path, encode(text[:start] + new_text + text[start + len(old_text) :]))
    line = text.count("\n", 0, start) + 1
    return f"Edited {path.shown}: replaced 1 occurrence at line {line}"


# --- list and search --------------------------------------------------------------------


def git_files(root: str, env: dict[str, str], path: Resolved) -> list[str]:
    """Tracked and untracked-not-ignored files under `path`, sorted, relative to root.

    Tracked files deleted from the working tree and anything under a `.git` are left out.
    """
    kind_check(root, path)
    argv = ["git", "--literal-pathspecs", "ls-files", "-z", "-co", "--exclude-standard"]
    if path.parts:
        argv += ["--", path.rel]
    try:
        result = subprocess.run(
            argv, cwd=root, env=env, capture_output=True, timeout=GIT_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise ToolError(f"git ls-files took over {GIT_TIMEOUT:.0f} s") from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip()
        raise ToolError(f"git ls-files failed: {cut_line(message, 500)}")
    # surrogateescape: a name that is not UTF-8 can still be opened; `printable` shows it.
    names = set(result.stdout.decode("utf-8", "surrogateescape").split("\0"))
    return sorted(
        name
        for name in names
        if name
        and not any(is_git_name(part) for part in name.rstrip("/").split("/"))
        and os.path.lexists(os.path.join(root, name))
    )


def printable(name: str) -> str:
    """A file name as the model may see it: undecodable bytes replaced."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def kind_check(root: str, path: Resolved) -> None:
    """Raise (OSError) unless `path` exists as a directory or a file."""
    if not path.parts:
        return
    dir_fd = open_dir(root, path.parts[:-1])
    try:
        os.stat(path.parts[-1], dir_fd=dir_fd, follow_symlinks=False)
    finally:
        os.close(dir_fd)


def list_files(root: str, env: dict[str, str], path: Resolved) -> str:
    names = git_files(root, env, path)
    if not names:
        return f"[no files under {path.shown}]"
    shown: list[str] = []
    used = 0
    for name in map(printable, names[:LIST_MAX_FILES]):
        if used + len(name) + 1 > OUTPUT_BUDGET:
            break
        shown.append(name)
        used += len(name) + 1
    text = "\n".join(shown)
    if len(shown) < len(names):
        text += (
            f"\n[{len(shown)} of {len(names)} files listed; "
            "pass a subdirectory as path to see the rest.]"
        )
    return text


def compile_pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ToolError(f"invalid regular expression {pattern!r}: {error}") from None


def search(
    root: str,
    env: dict[str, str],
    pattern: str,
    path: Resolved,
    stop: threading.Event | None = None,
) -> str:
    """`path:line: text` for each matching line; stops early when `stop` is set."""
    regex = compile_pattern(pattern)
    names = git_files(root, env, path)
    matches: list[str] = []
    used = searched = too_big = 0
    full = False
    dirs = DirCache(root)
    try:
        for name in names:
            if full or (stop is not None and stop.is_set()):
                break
            text, big = _searchable_text(dirs, name)
            too_big += big
            if text is None:
                continue
            searched += 1
            for number, line in enumerate(text.split("\n"), 1):
                if regex.search(line):
                    shown = cut_line(line.rstrip("\r"), SEARCH_LINE_CHARS)
                    entry = f"{printable(name)}:{number}: {shown}"
                    if len(matches) >= SEARCH_MAX_MATCHES or used + len(entry) > OUTPUT_BUDGET:
                        full = True
                        break
                    matches.append(entry)
                    used += len(entry) + 1
    finally:
        dirs.close()
    notes: list[str] = []
    if full:
        notes.append(
            f"[Stopped after {len(matches)} matches; narrow the pattern or the path to see more.]"
        )
    if too_big:
        notes.append(f"[{too_big} files over {SEARCH_MAX_FILE_BYTES} bytes were not searched.]")
    if not matches:
        notes.insert(0, f"[No matches for {pattern!r} in {path.shown} ({searched} files searched)]")
    return "\n".join(matches + notes)


def _searchable_text(dirs: DirCache, name: str) -> tuple[str | None, bool]:
    """The file's text, or None to skip it (binary, a symlink, gone); and if too big."""
    if name.endswith("/"):
        return None, False  # an untracked nested repository, listed as a directory
    parts = tuple(name.split("/"))
    try:
        dir_fd = dirs.get(parts[:-1])
        with open_regular(dir_fd, parts[-1]) as fd:
            if os.fstat(fd).st_size > SEARCH_MAX_FILE_BYTES:
                return None, True
            data = read_all(fd)
    except (OSError, PathRefused):
        return None, False
    if is_binary(data):
        return None, False
    return data.decode("utf-8", "replace"), False


def read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)
