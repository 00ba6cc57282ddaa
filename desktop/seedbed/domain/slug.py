"""Names derived from user text: branch names and directory names that are always safe."""

from __future__ import annotations

import re
import unicodedata

_NOT_SAFE = re.compile(r"[^a-z0-9]+")
MAX_SLUG = 40


def slugify(text: str, fallback: str = "task") -> str:
    """Lower-case ASCII letters, digits and single dashes; never empty, never over MAX_SLUG.

    Whatever the title holds (quotes, newlines, `$(…)`, emoji), the result is a valid
    ref component and a plain directory name, so it can never be read as an option
    or expand in a shell.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _NOT_SAFE.sub("-", ascii_text.lower()).strip("-")
    slug = slug[:MAX_SLUG].rstrip("-")
    return slug or fallback


def task_branch(task_id: int, title: str) -> str:
    return f"seedbed/{task_id}-{slugify(title)}"


def task_dir_name(task_id: int, title: str) -> str:
    return f"{task_id}-{slugify(title)}"


def numbered(name: str, n: int) -> str:
    """`name` for the first try, then `name-2`, `name-3` …: a fresh name when one is taken."""
    return name if n < 2 else f"{name}-{n}"


def one_line(text: str, limit: int = 72) -> str:
    """A title squeezed onto one line, for commit subjects and log lines."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def free_name(wanted: str, taken: set[str]) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`, … : the first that is not taken (a project's
    or a profile's name the user did not choose)."""
    name, number = wanted, 2
    while name in taken:
        name, number = f"{wanted}-{number}", number + 1
    return name
