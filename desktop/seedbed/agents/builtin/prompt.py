"""What the built-in agent is told: pure functions from the task and the worktree."""

from __future__ import annotations

import subprocess
from pathlib import Path

INSTRUCTION_FILES = ("AGENTS.md", "CLAUDE.md")
LISTING_LIMIT = 200
INSTRUCTIONS_LIMIT = 20_000

ROLE = """\
You are a careful software engineer working alone in a git worktree of the user's \
repository. Use the tools to read the code, change files and run commands; every path \
is relative to the worktree root. Make the smallest change that does the task well, \
follow the project's conventions, and run the project's tests or checks when you can. \
Do not commit: Seedbed commits your work when you finish. When the task is done, answer \
with a short summary of what you changed and why, without calling a tool."""


def top_level_listing(worktree: Path, limit: int = LISTING_LIMIT) -> str:
    """The repository's top level, directories marked with a slash (git-ignored skipped)."""
    result = subprocess.run(
        ["git", "-C", str(worktree), "ls-files", "-co", "--exclude-standard", "-z"],
        capture_output=True,
        check=False,
    )
    names: set[str] = set()
    if result.returncode == 0:
        for path in result.stdout.decode("utf-8", "replace").split("\0"):
            if path:
                head, sep, _rest = path.partition("/")
                names.add(head + ("/" if sep else ""))
    entries = sorted(names)
    shown = entries[:limit]
    more = f"\n… and {len(entries) - limit} more" if len(entries) > limit else ""
    return "\n".join(shown) + more


def instruction_files(worktree: Path, limit: int = INSTRUCTIONS_LIMIT) -> list[tuple[str, str]]:
    """AGENTS.md / CLAUDE.md at the worktree root, each cut to `limit` characters."""
    found: list[tuple[str, str]] = []
    for name in INSTRUCTION_FILES:
        path = worktree / name
        if path.is_file() and not path.is_symlink():
            text = path.read_text(encoding="utf-8", errors="replace")
            if len(text) > limit:
                text = text[:limit] + f"\n[… cut: the file has {len(text)} characters]"
            found.append((name, text))
    return found


def system_prompt(
    title: str,
    prompt: str,
    listing: str,
    instructions: list[tuple[str, str]],
    plan: str = "",
) -> str:
    parts = [ROLE, f"# The task\n\n{title.strip()}\n\n{prompt.strip()}"]
    if plan.strip():
        parts.append(f"# The approved plan\n\nFollow this plan.\n\n{plan.strip()}")
    parts.append(f"# The repository's top level\n\n{listing or '(empty)'}")
    for name, text in instructions:
        parts.append(f"# {name} (the project's instructions for agents)\n\n{text.strip()}")
    return "\n\n".join(parts) + "\n"


FIRST_MESSAGE = "Carry out the task described in the system prompt."
