"""Parse `git diff` output into `FileDiff`s for the reviewer.

Pure: text in, models out, no git call, so every edge case can be tested on a hand-written
string (git-cola keeps its `diffparse.py` the same way). The input is what
`git diff --no-color --no-ext-diff -M --src-prefix=a/ --dst-prefix=b/` prints, with or
without `core.quotePath`: quoted paths are C-unquoted wherever they appear.

Hunk bodies are read by their `@@` line counts, never by the look of a line: a removed
line `-- a/x` prints as `--- a/x` and must not start a new file. Header paths are taken
from the most reliable line present: `rename/copy from/to`, then `---`/`+++`, then the
`diff --git` line, which is ambiguous when unquoted names contain spaces.

Speed: one pass over the lines with the hot loop kept to local variables. Building the
pydantic `DiffLine`s is most of the cost (about 1-3 µs each), so a file past
`max_lines_per_file` stops building them and only counts; so does one past
`max_chars_per_file` characters, or with a line longer than `max_line_chars` (a minified
file: one line of megabytes would stall the view that lays it out).
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass

from seedbed.domain.diffs import DiffLine, FileDiff, Hunk, LineKind

_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)")
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.DOTALL)
_ESCAPES = {b"a": 7, b"b": 8, b"t": 9, b"n": 10, b"v": 11, b"f": 12, b"r": 13}
_DEV_NULL = "/dev/null"

_ADDED, _REMOVED, _CONTEXT = LineKind.ADDED, LineKind.REMOVED, LineKind.CONTEXT
# Extended header lines whose value we keep ("index …" says nothing the reviewer shows).
_HEADER_KEYS = (
    "old mode",
    "new mode",
    "deleted file mode",
    "new file mode",
    "similarity index",
    "dissimilarity index",
    "rename from",
    "rename to",
    "copy from",
    "copy to",
)


@dataclass(frozen=True)
class Caps:
    """How much of one file's diff is built into lines; past any, it is `too_large`."""

    lines: int = 20_000
    chars: int = 2_000_000
    line_chars: int = 20_000


NO_CAPS = Caps(1 << 40, 1 << 40, 1 << 40)


def parse_diff(
    text: str, max_lines_per_file: int = 20_000, caps: Caps | None = None
) -> list[FileDiff]:
    """Every file of a unified git diff, in order; text outside a `diff --git` is ignored."""
    lines = text.split("\n")  # not splitlines(): \r, \f, \x1c, \u2028… are content
    if lines and lines[-1] == "":
        lines.pop()
    caps = caps or Caps(lines=max_lines_per_file)
    files: list[FileDiff] = []
    blobs: dict[str, tuple[str | None, str | None]] = {}
    i, end = 0, len(lines)
    # Tens of thousands of new objects, none of them garbage: the cyclic collector's
    # passes over them cost as much as the parse itself (measured 188 → 104 ms).
    collecting = gc.isenabled()
    gc.disable()
    try:
        while i < end:
            line = lines[i]
            if line.startswith("diff --git "):
                file, i = _parse_file(lines, i, caps)
                _append(files, file)
            else:
                if line.startswith(":"):
                    _raw_record(line, blobs)
                i += 1
    finally:
        if collecting:
            gc.enable()
    for file in files:
        # `--raw` names both blobs of every file, even where the patch has no `index`
        # line (a pure rename, a mode change): what a "viewed" tick is keyed on.
        if file.path in blobs:
            file.old_blob, file.new_blob = blobs[file.path]
    return files


def _raw_record(line: str, blobs: dict[str, tuple[str | None, str | None]]) -> None:
    """`:OLDMODE NEWMODE OLD NEW STATUS\tPATH[\tNEWPATH]` of `git diff --raw` (without
    -z: paths C-quoted where needed, so a tab separates them)."""
    head, _, paths = line.partition("\t")
    fields = head.split(" ")
    if len(fields) != 5 or not paths:
        return
    path = _unquote(paths.split("\t")[-1])
    old, new = (None if not blob.strip("0") else blob for blob in fields[2:4])
    blobs[path] = (old, new)


def _append(files: list[FileDiff], file: FileDiff) -> None:
    """Add `file`, joining git's delete + add pair for one path back into a type change."""
    last = files[-1] if files else None
    if (
        last is not None
        and last.status == "D"
        and file.status == "A"
        and last.path == file.path
        and not last.too_large
        and not file.too_large
    ):
        last.status = "T"
        last.new_mode = file.new_mode
        last.binary = last.binary or file.binary
        last.new_blob = file.new_blob
        last.insertions += file.insertions
        last.hunks.extend(file.hunks)
        return
    files.append(file)


def _parse_file(lines: list[str], i: int, caps: Caps) -> tuple[FileDiff, int]:
    """One file from its `diff --git` line at `i`; returns it and the index after it."""
    old, new = _git_line_paths(lines[i][len("diff --git ") :])
    meta: dict[str, str] = {}
    blobs: tuple[str | None, str | None] = (None, None)
    binary = False
    end = len(lines)
    i += 1
    while i < end:
        line = lines[i]
        if line.startswith(("diff --git ", "@@ ")):
            break
        i += 1
        if line.startswith("--- "):
            old = _strip_prefix(_unquote(line[4:].removesuffix("\t")), "a/")
        elif line.startswith("+++ "):
            new = _strip_prefix(_unquote(line[4:].removesuffix("\t")), "b/")
        elif line.startswith("index "):
            blobs = _blobs(line[len("index ") :])
        elif line.startswith("Binary files "):
            binary = True
        elif line == "GIT binary patch":
            binary = True
            while i < end and not lines[i].startswith("diff --git "):
                i += 1
        else:
            for key in _HEADER_KEYS:
                if line.startswith(key) and line[len(key) : len(key) + 1] == " ":
                    meta[key] = line[len(key) + 1 :]
                    break
    old = _unquote(meta["rename from"]) if "rename from" in meta else old
    new = _unquote(meta["rename to"]) if "rename to" in meta else new
    old = _unquote(meta["copy from"]) if "copy from" in meta else old
    new = _unquote(meta["copy to"]) if "copy to" in meta else new

    if "rename from" in meta:
        status = "R"
    elif "copy from" in meta:
        status = "C"
    elif "new file mode" in meta:
        status = "A"
    elif "deleted file mode" in meta:
        status = "D"
    else:
        status = "M"
    similarity = meta.get("similarity index", "").rstrip("%")
    file = FileDiff(
        path=(old if status == "D" else new) or old or new or "",
        old_path=old if status in "RC" else None,
        status=status,
        binary=binary,
        similarity=int(similarity) if similarity.isdigit() else None,
        old_mode=meta.get("old mode") or meta.get("deleted file mode"),
        new_mode=meta.get("new mode") or meta.get("new file mode"),
        old_blob=blobs[0],
        new_blob=blobs[1],
    )
    if not binary:
        i = _parse_hunks(lines, i, file, caps)
    return file, i


def _parse_hunks(lines: list[str], i: int, file: FileDiff, caps: Caps) -> int:
    """Read the hunks of `file` from `i`; fill its hunks and counts, return the next index."""
    end = len(lines)
    max_lines, max_chars, max_line_chars = caps.lines, caps.chars, caps.line_chars
    insertions = deletions = total = chars = 0
    building = True
    hunks = file.hunks
    last: DiffLine | None = None
    while i < end:
        line = lines[i]
        if line.startswith("diff --git "):
            break
        i += 1
        match = _HUNK.match(line) if line.startswith("@@ ") else None
        if match is None:
            if line.startswith("\\") and last is not None:
                last.no_newline = True
            continue  # a stray line between hunks: nothing we know how to show
        old_no, old_left = int(match[1]), int(match[2] or "1")
        new_no, new_left = int(match[3]), int(match[4] or "1")
        hunk = Hunk(
            old_start=old_no,
            old_count=old_left,
            new_start=new_no,
            new_count=new_left,
            header=match[5],
        )
        hunks.append(hunk)
        body = hunk.lines
        last = None
        while i < end and (old_left > 0 or new_left > 0):
            line = lines[i]
            tag = line[:1]
            if tag == "\\":  # "\ No newline at end of file" may sit between - and + lines
                if last is not None:
                    last.no_newline = True
                i += 1
                continue
            if tag not in "+- ":  # "" is a blank context line (diff.suppressBlankEmpty)
                break
            i += 1
            total += 1
            if building:
                size = len(line)
                chars += size
                if total > max_lines or chars > max_chars or size > max_line_chars:
                    building = False
                    last = None
            text = line[1:]
            crlf = text.endswith("\r")
            if crlf:
                text = text[:-1]
            if tag == "+":
                insertions += 1
                if building:
                    last = _line(_ADDED, text, None, new_no, crlf)
                    body.append(last)
                new_no += 1
                new_left -= 1
            elif tag == "-":
                deletions += 1
                if building:
                    last = _line(_REMOVED, text, old_no, None, crlf)
                    body.append(last)
                old_no += 1
                old_left -= 1
            else:
                if building:
                    last = _line(_CONTEXT, text, old_no, new_no, crlf)
                    body.append(last)
                old_no += 1
                new_no += 1
                old_left -= 1
                new_left -= 1
    file.insertions = insertions
    file.deletions = deletions
    if not building:
        file.too_large = True
        file.hunks = []
    return i


def _blobs(value: str) -> tuple[str | None, str | None]:
    """The blob ids of `index OLD..NEW [MODE]`; git's all-zero id (no such side) is None."""
    ids = value.split(" ", 1)[0].split("..")
    if len(ids) != 2:
        return None, None
    old, new = (None if not i.strip("0") else i for i in ids)
    return old, new


# Paths


def _git_line_paths(rest: str) -> tuple[str | None, str | None]:
    """Old and new path from `diff --git a/X b/Y`, prefixes removed.

    Unquoted names with spaces are ambiguous here; git itself resolves them by assuming both
    names are equal, which holds whenever no rename/copy line follows to say otherwise.
    """
    if rest.startswith('"'):
        close = _closing_quote(rest)
        first, second = rest[: close + 1], rest[close + 1 :].lstrip(" ")
    elif rest.endswith('"') and ' "b/' in rest:
        cut = rest.rindex(' "b/')
        first, second = rest[:cut], rest[cut + 1 :]
    else:
        half = (len(rest) - 1) // 2
        if (
            len(rest) % 2 == 1
            and rest[half] == " "
            and rest.startswith("a/")
            and rest[half + 1 :].startswith("b/")
            and rest[2:half] == rest[half + 3 :]
        ):
            first, second = rest[:half], rest[half + 1 :]
        else:
            first, _, second = rest.partition(" b/")
            second = "b/" + second
    return _strip_prefix(_unquote(first), "a/"), _strip_prefix(_unquote(second), "b/")


def _closing_quote(text: str) -> int:
    """Index of the quote ending the C-quoted string that starts `text`."""
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    return len(text) - 1


def _strip_prefix(name: str, prefix: str) -> str | None:
    if name == _DEV_NULL:
        return None
    return name[len(prefix) :] if name.startswith(prefix) else name


def _unquote(name: str) -> str:
    """Undo git's C-style quoting (`"a/t\\303\\251st"` → `a/tést`); plain names pass through."""
    if len(name) < 2 or not name.startswith('"') or not name.endswith('"'):
        return name
    raw = name[1:-1].encode("utf-8", "surrogateescape")
    return _ESCAPE.sub(_unescape, raw).decode("utf-8", "replace")


def _unescape(match: re.Match[bytes]) -> bytes:
    code = match[1]
    if code[:1].isdigit():
        return bytes([int(code, 8) & 0xFF])
    return bytes([_ESCAPES[code]]) if code in _ESCAPES else code


def _line(
    kind: LineKind, text: str, old_no: int | None, new_no: int | None, crlf: bool
) -> DiffLine:
    """A DiffLine without pydantic's validation: the parser made every value itself, and
    validating 20,000 lines took two thirds of the parse."""
    return DiffLine.model_construct(
        kind=kind, text=text, old_no=old_no, new_no=new_no, no_newline=False, crlf=crlf
    )
