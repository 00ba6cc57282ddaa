"""The search tool's worker: runs one search in its own process, so it can be killed.

Python's `re` never releases the GIL while it matches, so a pattern that backtracks
catastrophically (`(a+)+$` against a long run of `a`s) would freeze the engine's whole
event loop if it ran in a thread: every run, stop requests, even SIGINT. Run here, it
only costs this process, which `Toolbox` starts through ManagedProcess (its own
process group, a timeout, stopped when the tool call is cancelled) and kills.

Protocol: a JSON object `{"root": str, "parts": [str, …], "pattern": str}` on standard
input (`root` the worktree's realpath, `parts` the already checked `Resolved` path);
one JSON line `{"output": str, "is_error": bool}` on standard output, exit code 0. The
work is `files.search` itself: `git ls-files -co --exclude-standard`, binary, large and
symlinked files skipped, the same caps and the same `path:line: text` output. Anything
else (a traceback on standard error, another exit code) is a failure of the worker.
"""

from __future__ import annotations

import json
import os
import sys

from seedbed.agents.builtin.files import ToolError, search
from seedbed.agents.builtin.paths import PathRefused, Resolved, describe_os_error


def run(request: dict[str, object]) -> tuple[str, bool]:
    """The tool's text and whether it is an error, for one decoded request."""
    root, parts, pattern = request["root"], request["parts"], request["pattern"]
    assert isinstance(root, str) and isinstance(parts, list) and isinstance(pattern, str)
    path = Resolved(tuple(str(part) for part in parts))
    try:
        return search(root, dict(os.environ), pattern, path), False
    except (ToolError, PathRefused) as error:
        return str(error), True
    except OSError as error:
        return describe_os_error(path.shown, error), True


def main() -> None:
    # ensure_ascii: the reply is plain ASCII whatever the locale; a name that is not
    # UTF-8 (a lone surrogate after surrogateescape) travels as a \udcXX escape.
    request = json.loads(sys.stdin.buffer.read())
    output, is_error = run(request)
    reply = json.dumps({"output": output, "is_error": is_error}, ensure_ascii=True)
    sys.stdout.buffer.write(reply.encode("ascii") + b"\n")
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
