"""The built-in agent's tools: what the model may do in its worktree, and how.

`TOOL_SPECS` is the contract the model sees (names, arguments, short descriptions);
`Toolbox.call` runs one call from the model's raw JSON arguments and always returns a
`ToolResult`, never raises (except cancellation): bad JSON, bad arguments, an unknown
tool, a refused path and a failing file operation all come back as an error the model
can read and act on.

The file tools (read_file, write_file, edit_file, list_files, search) are confined to
the worktree; see `paths.py` for how. `run_command` is not: it is a shell running as
the user, in the worktree but able to touch anything the user can. That is by design
(the agent must build and test); the confinement of the file tools keeps honest
mistakes (an absolute path, a stray `..`, a symlink) from reaching outside, it is not
a sandbox against the command tool. What it keeps from commands is the way to the
user's keys (see `command_environment`).

`search` runs Python's `re` in a worker process, killed at a timeout or when the call
is cancelled: `re` holds the GIL for as long as a match takes, so a pattern that
backtracks catastrophically would otherwise freeze the engine's event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

import seedbed
from seedbed.agents.builtin import files
from seedbed.agents.builtin.command import (
    COMMAND_MAX_TIMEOUT,
    COMMAND_TIMEOUT,
    command_environment,
    run_command,
)
from seedbed.agents.builtin.files import ToolError
from seedbed.agents.builtin.paths import PathRefused, Resolved, describe_os_error, resolve_path
from seedbed.agents.builtin.types import ToolSpec
from seedbed.agents.process import (
    ManagedProcess,
    ProcessSpec,
    SandboxUnavailable,
    base_environment,
)
from seedbed.domain.events import MAX_ARGUMENT_DEPTH, Stream, ToolKind, too_deep
from seedbed.domain.models import RunKind
from seedbed.sandbox.plan import SandboxPlan

MAX_OUTPUT = 30_000  # characters of any tool result the model reads back
SEARCH_TIMEOUT = 20.0  # seconds a search may take before its worker is killed
SEARCH_KILL_GRACE = 1.0
SEARCH_WORKER = "seedbed.agents.builtin.search_worker"
SEARCH_REPLY_CAP = 4 * 1024 * 1024  # bytes of the worker's one-line JSON reply


def _spec(name: str, description: str, properties: dict[str, object], *required: str) -> ToolSpec:
    return ToolSpec(
        name=name,
        description=description,
        parameters={
            "type": "object",
            "properties": properties,
            "required": list(required),
            "additionalProperties": False,
        },
    )


_PATH = "Path relative to the worktree root."
TOOL_SPECS: list[ToolSpec] = [
    _spec(
        "read_file",
        "Read a text file. Lines come back numbered like `cat -n` (number, tab, text); the "
        f"numbers are not part of the file. Returns at most {files.READ_MAX_LINES} lines; "
        "a note at the end says when the output was cut and which offset reads on.",
        {
            "path": {"type": "string", "description": _PATH},
            "offset": {"type": "integer", "minimum": 1, "description": "First line, 1-based."},
            "limit": {"type": "integer", "minimum": 1, "description": "Number of lines."},
        },
        "path",
    ),
    _spec(
        "write_file",
        "Create a file or replace its whole content. Parent directories are created.",
        {
            "path": {"type": "string", "description": _PATH},
            "content": {"type": "string", "description": "The complete new content."},
        },
        "path",
        "content",
    ),
    _spec(
        "edit_file",
        "Replace old_text with new_text in a file. old_text must occur exactly once and "
        "match exactly, whitespace included and without read_file's line numbers; add "
        "surrounding lines to make it unique.",
        {
            "path": {"type": "string", "description": _PATH},
            "old_text": {"type": "string", "description": "Exact text to replace."},
            "new_text": {"type": "string", "description": "Replacement text."},
        },
        "path",
        "old_text",
        "new_text",
    ),
    _spec(
        "list_files",
        "List the files under a directory (tracked and untracked, git-ignored ones left "
        "out), one path per line relative to the worktree root.",
        {"path": {"type": "string", "description": "Directory; default: the worktree root."}},
    ),
    _spec(
        "search",
        "Search file contents line by line with a Python regular expression (use (?i) to "
        "ignore case). Git-ignored and binary files are skipped. Results are "
        "`path:line: text` with paths relative to the worktree root.",
        {
            "pattern": {"type": "string", "description": "Python regular expression."},
            "path": {
                "type": "string",
                "description": "File or directory to search; default: the worktree root.",
            },
        },
        "pattern",
    ),
    _spec(
        "run_command",
        "Run a shell command with `sh -c` in the worktree root; stdout and stderr come back "
        "combined, with the exit code. Standard input is empty, so interactive programs "
        "cannot work. Long output keeps its beginning and end. The command and everything "
        f"it started are killed at the timeout (default {COMMAND_TIMEOUT:.0f} s). Unlike "
        "the file tools it is not confined to the worktree: change nothing outside it.",
        {
            "command": {"type": "string", "description": "Shell command line."},
            "timeout_seconds": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": COMMAND_MAX_TIMEOUT,
                "description": f"Default {COMMAND_TIMEOUT:.0f}, at most {COMMAND_MAX_TIMEOUT:.0f}.",
            },
        },
        "command",
    ),
]

TOOL_KINDS: dict[str, ToolKind] = {
    "read_file": ToolKind.READ,
    "list_files": ToolKind.READ,
    "write_file": ToolKind.EDIT,
    "edit_file": ToolKind.EDIT,
    "search": ToolKind.SEARCH,
    "run_command": ToolKind.COMMAND,
}


def tools_for(kind: RunKind) -> list[ToolSpec]:
    """The tools a run gets: a planner only reads and searches; a reviewer may also run
    commands (its tests, say); what either leaves is undone by the engine anyway."""
    if kind is RunKind.PLAN:
        allowed = {ToolKind.READ, ToolKind.SEARCH}
    elif kind is RunKind.REVIEW:
        allowed = {ToolKind.READ, ToolKind.SEARCH, ToolKind.COMMAND}
    else:
        return TOOL_SPECS
    return [spec for spec in TOOL_SPECS if TOOL_KINDS.get(spec.name) in allowed]


class ToolResult(BaseModel):
    """What the model reads back: bounded text, and whether the call failed."""

    model_config = ConfigDict(extra="forbid")

    output: str
    is_error: bool = False


# --- arguments --------------------------------------------------------------------------
# None is accepted for an optional argument: some models send every field, null if unused.


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ReadFileArgs(_Args):
    path: str
    offset: int | None = Field(None, ge=1)
    limit: int | None = Field(None, ge=1)


class WriteFileArgs(_Args):
    path: str
    content: str


class EditFileArgs(_Args):
    path: str
    old_text: str
    new_text: str


class ListFilesArgs(_Args):
    path: str | None = None


class SearchArgs(_Args):
    pattern: str
    path: str | None = None


class RunCommandArgs(_Args):
    command: str
    timeout_seconds: float | None = Field(None, gt=0, le=COMMAND_MAX_TIMEOUT)


ARGUMENT_MODELS: dict[str, type[_Args]] = {
    "read_file": ReadFileArgs,
    "write_file": WriteFileArgs,
    "edit_file": EditFileArgs,
    "list_files": ListFilesArgs,
    "search": SearchArgs,
    "run_command": RunCommandArgs,
}


def check_arguments(name: str, arguments: str) -> _Args:
    """The call's arguments, checked; ToolError with a readable message otherwise."""
    model = ARGUMENT_MODELS.get(name)
    if model is None:
        known = ", ".join(ARGUMENT_MODELS)
        raise ToolError(f"unknown tool {name!r}; the tools are: {known}")
    try:
        # An empty string is what some providers send for a call without arguments.
        value = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError as error:
        raise ToolError(f"the arguments are not valid JSON ({error}); {usage(name)}") from None
    except RecursionError:
        value = deeper = True  # nested deeper than Python reads
    else:
        deeper = too_deep(value)
    if deeper:
        raise ToolError(
            f"the arguments are nested too deeply to read (more than {MAX_ARGUMENT_DEPTH} "
            f"levels); {usage(name)}"
        )
    if not isinstance(value, dict):
        kind = _JSON_TYPES.get(type(value), "a number")
        raise ToolError(f"the arguments must be a JSON object, not {kind}; {usage(name)}")
    try:
        return model.model_validate(value)
    except ValidationError as error:
        problems = "; ".join(_problem(e) for e in error.errors(include_url=False))
        raise ToolError(f"invalid arguments for {name}: {problems}; {usage(name)}") from None


_JSON_TYPES: dict[type, str] = {
    list: "an array", str: "a string", bool: "a boolean", type(None): "null"
}  # fmt: skip


def _problem(error: ErrorDetails) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "arguments"
    if error["type"] == "missing":
        return f"{field} is required"
    if error["type"] == "extra_forbidden":
        return f"{field} is not an argument of this tool"
    shown = json.dumps(error["input"])[:80]
    return f"{field}: {error['msg']} (got {shown})"


def usage(name: str) -> str:
    model = ARGUMENT_MODELS[name]
    names = [f if info.is_required() else f"{f}?" for f, info in model.model_fields.items()]
    return f"{name} takes {{{', '.join(names)}}}"


# --- the toolbox ------------------------------------------------------------------------


class Toolbox:
    """The tools bound to one worktree; `call` runs one tool call from the model."""

    def __init__(
        self,
        worktree: Path,
        env: dict[str, str] | None = None,
        *,
        run_id: int | None = None,
        marker: str = "",
        search_timeout: float = SEARCH_TIMEOUT,
        sandbox: SandboxPlan | None = None,
    ) -> None:
        """`sandbox`: where `run_command` runs its commands (None: with the user's rights)."""
        self.worktree = Path(worktree)
        self.sandbox = sandbox
        self.root = os.path.realpath(worktree)
        # Every process the tools start (commands, git, the search worker) gets this
        # environment: no way to the user's keys, and the run's marker for recovery.
        self.env = command_environment(base_environment() if env is None else env, run_id, marker)
        self.search_timeout = search_timeout
        self._tools: dict[str, Callable[[_Args], Awaitable[ToolResult | str]]] = {
            "read_file": self._read_file,
            "write_file": self._write_file,
            "edit_file": self._edit_file,
            "list_files": self._list_files,
            "search": self._search,
            "run_command": self._run_command,
        }

    async def call(self, name: str, arguments: str) -> ToolResult:
        """Run one tool call; every failure is an error result, cancellation propagates."""
        shown = "."
        try:
            args = check_arguments(name, arguments)
            shown = getattr(args, "path", None) or "."
            result = await self._tools[name](args)
        except (ToolError, PathRefused) as error:
            result = ToolResult(output=str(error), is_error=True)
        except OSError as error:
            result = ToolResult(output=describe_os_error(shown, error), is_error=True)
        except Exception as error:  # a bug must not end the run: the model is told
            result = ToolResult(
                output=f"{name} failed: {type(error).__name__}: {error}", is_error=True
            )
        if isinstance(result, str):
            result = ToolResult(output=result)
        return ToolResult(
            output=files.cap_text(result.output, MAX_OUTPUT), is_error=result.is_error
        )

    def resolve(self, raw: str | None, *, allow_root: bool = False) -> Resolved:
        return resolve_path(self.root, raw or "", allow_root=allow_root)

    async def _read_file(self, args: _Args) -> str:
        assert isinstance(args, ReadFileArgs)
        path = self.resolve(args.path)
        return await asyncio.to_thread(
            files.read_file, self.root, path, args.offset or 1, args.limit
        )

    async def _write_file(self, args: _Args) -> str:
        assert isinstance(args, WriteFileArgs)
        path = self.resolve(args.path)
        return await asyncio.to_thread(files.write_file, self.root, path, args.content)

    async def _edit_file(self, args: _Args) -> str:
        assert isinstance(args, EditFileArgs)
        path = self.resolve(args.path)
        return await asyncio.to_thread(
            files.edit_file, self.root, path, args.old_text, args.new_text
        )

    async def _list_files(self, args: _Args) -> str:
        assert isinstance(args, ListFilesArgs)
        path = self.resolve(args.path, allow_root=True)
        return await asyncio.to_thread(files.list_files, self.root, self.env, path)

    async def _search(self, args: _Args) -> ToolResult:
        """The search runs in a worker process (see search_worker.py for why).

        The pattern is compiled here first (cheap), so a bad one is an immediate error;
        the worker is killed with its process group at the timeout or on cancellation.
        """
        assert isinstance(args, SearchArgs)
        path = self.resolve(args.path, allow_root=True)
        files.compile_pattern(args.pattern)
        request = {"root": self.root, "parts": list(path.parts), "pattern": args.pattern}
        process = await ManagedProcess.start(self._search_spec(request))
        reply: list[str] = []
        problems: list[str] = []
        async for batch in process.batches():  # cancelled: stops and reaps the group
            for stream, line, _cut in batch:
                if stream is Stream.STDOUT:
                    reply.append(line)
                elif line.strip():
                    problems = [*problems[-4:], line.strip()]
        if process.ended_by == "timeout":
            raise ToolError(
                f"the search took longer than {self.search_timeout:g} s; "
                "use a simpler pattern or a narrower path"
            )
        try:
            result = ToolResult.model_validate_json("".join(reply))
        except ValueError:
            result = None
        if process.exit_code != 0 or result is None:
            detail = problems[-1] if problems else f"exit code {process.exit_code}"
            raise ToolError(f"the search failed: {files.cut_line(detail, 500)}")
        return result

    def _search_spec(self, request: Mapping[str, object]) -> ProcessSpec:
        # Our own interpreter and package, whatever the worktree holds: no PYTHON*
        # variables from the environment, and -P keeps the current directory (the
        # worktree, which may well contain a `seedbed` or a `re.py`) off sys.path.
        env = {name: value for name, value in self.env.items() if not name.startswith("PYTHON")}
        env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(seedbed.__file__)))
        return ProcessSpec(
            argv=[sys.executable, "-P", "-m", SEARCH_WORKER],
            cwd=Path(self.root),
            env=env,
            stdin=json.dumps(request, ensure_ascii=True).encode("ascii"),
            timeout=self.search_timeout,
            grace=SEARCH_KILL_GRACE,
            line_cap=SEARCH_REPLY_CAP,
        )

    async def _run_command(self, args: _Args) -> ToolResult:
        assert isinstance(args, RunCommandArgs)
        timeout = args.timeout_seconds or COMMAND_TIMEOUT
        try:
            output, failed = await run_command(
                Path(self.root), self.env, args.command, timeout, self.sandbox
            )
        except SandboxUnavailable as error:
            raise ToolError(str(error)) from None
        except OSError as error:
            raise ToolError(f"the command could not be started: {error.strerror}") from None
        return ToolResult(output=output, is_error=failed)
