"""The one way Seedbed runs git: an argv list through GitPython, never a shell string.

Every function in `vcs` blocks; the engine calls them through ``asyncio.to_thread``. Git
always gets ``-C <dir>``, so a missing directory makes git fail instead of GitPython
quietly running it in the current directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO, cast

from seedbed.domain.errors import OperationError, UserError

SEEDBED_IDENTITY = ("Seedbed", "seedbed@localhost")

# For commits made unattended: no hook, no signing (so no pinentry) may ever block them.
UNATTENDED = ("-c", f"core.hooksPath={os.devnull}", "-c", "commit.gpgsign=false")
PATHS_RAW = ("-c", "core.quotepath=off")
# Pin what user config could change about a diff that is parsed or shown as text.
DIFF_OPTIONS = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "-M",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)
# No command of ours may wait for a password or an editor.
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": ":", "GIT_SEQUENCE_EDITOR": ":"}


class GitError(OperationError):
    """A git command exited non-zero; keeps status and output for callers that branch on them."""

    def __init__(self, message: str, status: int, stdout: str, stderr: str) -> None:
        super().__init__(message)
        self.status = status
        self.stdout = stdout
        self.stderr = stderr


def run_git(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    check: bool = True,
) -> str:
    """Run git in `cwd`; return stdout. Undecodable bytes become surrogates so paths round-trip."""
    # GitPython costs ~0.15 s to import: loaded on the first git call, not at start-up
    # (the window paints its board before it needs git).
    import git

    with contextlib.ExitStack() as stack:
        stdin: IO[bytes] | None = None
        if input is not None:
            stdin = stack.enter_context(tempfile.TemporaryFile())
            stdin.write(input.encode())
            stdin.seek(0)
        try:
            result = git.Git(cwd).execute(
                ["git", "-C", str(cwd), *args],
                istream=stdin,
                with_extended_output=True,
                with_exceptions=False,
                env={**_ENV, **(env or {})},
                stdout_as_string=False,
                strip_newline_in_stdout=False,
            )
        except git.GitCommandNotFound as exc:
            raise OperationError("git is not installed or not on PATH") from exc
    status, out, err = cast(tuple[int, bytes, str], result)
    stdout = out.decode("utf-8", "surrogateescape")
    if check and status != 0:
        detail = err.strip() or f"exit status {status}"
        raise GitError(f"git {_subcommand(args)} failed: {detail}", status, stdout, err)
    return stdout


def _subcommand(args: tuple[str, ...]) -> str:
    rest = list(args)
    while rest and rest[0] == "-c":
        rest = rest[2:]
    return rest[0] if rest else ""


def check_name(value: str, what: str) -> None:
    """Refuse names git would read as an option (argument injection) or that cannot be refs."""
    if not value or value.startswith("-") or any(c in value for c in "\0\n\r"):
        raise UserError(f"{value!r} is not a valid {what}")


def absolute(path: Path) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def identity_env(name: str, email: str) -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


_IDENT = re.compile(r"(?P<name>.*) <(?P<email>.*)> \d+ [+-]\d{4}")


def parse_ident(line: str) -> tuple[str, str] | None:
    """Name and email of a `git var GIT_*_IDENT` line (`Name <email> 1700000000 +0100`)."""
    match = _IDENT.fullmatch(line.strip())
    return (match["name"], match["email"]) if match else None


def _resolved(repo: Path, variable: str) -> tuple[str, str] | None:
    # useConfigOnly: only what the user set (the environment, the repository's or the
    # global config), never a name and email git would guess from the machine.
    out = run_git(repo, "-c", "user.useConfigOnly=true", "var", variable, check=False)
    return parse_ident(out)


def configured_identity(repo: Path) -> tuple[str, str] | None:
    """Who authors a commit in `repo`, as git resolves it there (GIT_AUTHOR_* in the
    environment, then author.* / user.* of the repository's, then the global config);
    None when the user configured none."""
    return _resolved(repo, "GIT_AUTHOR_IDENT")


def commit_identity(repo: Path) -> dict[str, str]:
    """The environment for a commit Seedbed makes in `repo`: authored and committed as
    the identity the user configured for it, or as Seedbed where there is none."""
    author = configured_identity(repo)
    if author is None:
        return identity_env(*SEEDBED_IDENTITY)
    name, email = _resolved(repo, "GIT_COMMITTER_IDENT") or author
    return {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def seedbed_identity_note(repo: Path) -> str:
    """What the log and doctor say when `repo` has no identity of the user's."""
    name, email = SEEDBED_IDENTITY
    return f"no git identity configured in {repo}: commits are authored as {name} <{email}>"
