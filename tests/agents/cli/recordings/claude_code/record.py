"""Record what the real Claude Code prints, for the parser tests and the benchmark.

    uv run python tests/agents/cli/recordings/claude_code/record.py

Runs the pinned CLI (.tools/, see tests/cli_tools.py) exactly as Seedbed does (argv and
environment from ClaudeCodeAdapter.prepare) in a fresh git repository, with a fresh
HOME, against tests/model_server.py on 127.0.0.1 with a fake key, and writes each run's
stdout next to this file. The temp dir's random name is replaced by /tmp/recording so
that a new recording differs only where the CLI does. Nothing secret is in them: the
key is fake and the HOME is empty.

- write_file.jsonl: the model writes hello.txt with the Write tool, then answers.
- follow_up.jsonl: `--resume` of that session; the model runs a command (Bash).
- permission_denied.jsonl: the model tries to write outside the worktree: denied.
- api_retry.jsonl: an overloaded server (529) once, then an answer.
- api_error.jsonl: a request the server refuses (400): an error result.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[4]
sys.path[:0] = [str(ROOT), str(ROOT / "desktop")]

from tests.cli_tools import BINARIES  # noqa: E402
from tests.model_server import (  # noqa: E402
    ModelServer,
    Response,
    anthropic_answer,
    http_error,
)

from seedbed.agents.base import RunRequest  # noqa: E402
from seedbed.agents.cli.claude_code import ClaudeCodeAdapter  # noqa: E402
from seedbed.domain.models import AgentKind, AgentProfile, RunKind  # noqa: E402

KEY = "sk-ant-recording-fake-key"
# The server picks the wire format from the path, and Claude Code asks for
# /v1/messages?beta=true: every answer here says it is Anthropic's.
WRITE = (
    anthropic_answer(
        ["I'll create ", "the file."],
        tool_calls=[("toolu_write_1", "Write", {"file_path": "hello.txt", "content": "hello\n"})],
        usage=(1200, 40),
        cache_tokens=(300, 100),
    ),
    anthropic_answer(["Created ", "hello.txt", "."], usage=(1500, 12), cache_tokens=(0, 1400)),
)
FOLLOW_UP = (
    anthropic_answer(
        "Let me check it.",
        tool_calls=[
            (
                "toolu_bash_1",
                "Bash",
                {"command": "cat hello.txt && echo again >> hello.txt", "description": "Append"},
            )
        ],
        usage=(1800, 30),
    ),
    anthropic_answer("hello.txt now has two lines.", usage=(1900, 10)),
)
DENIED = (
    anthropic_answer(
        tool_calls=[
            ("toolu_write_2", "Write", {"file_path": "/etc/seedbed-test", "content": "x\n"})
        ],
        usage=(1000, 20),
    ),
    anthropic_answer("I may not write outside the worktree.", usage=(1100, 9)),
)
RETRY = (
    http_error(529, "Overloaded", headers={"retry-after": "0"}),
    anthropic_answer("Hello after a retry.", usage=(900, 6)),
)
ERROR = (http_error(400, "prompt is too long: 250000 tokens > 200000 maximum"),)


def request(worktree: Path, follow_up: str = "") -> RunRequest:
    return RunRequest(
        task_id=1,
        run_id=1,
        run_number=2 if follow_up else 1,
        kind=RunKind.FIX if follow_up else RunKind.IMPLEMENT,
        title="Write hello.txt",
        prompt="Create hello.txt that says hello.",
        worktree=worktree,
        follow_up=follow_up,
    )


def run(
    server: ModelServer,
    answers: tuple[Response, ...],
    root: Path,
    name: str,
    follow_up: str = "",
    session_id: str = "",
) -> str:
    server.script(*answers)
    adapter = ClaudeCodeAdapter()
    profile = AgentProfile(name="rec", kind=AgentKind.CLAUDE_CODE, base_url=server.url)
    env = {"PATH": os.environ["PATH"], "HOME": str(root / "home"), "ANTHROPIC_API_KEY": KEY}
    spec = adapter.prepare(
        profile, request(root / "repo", follow_up), str(BINARIES["claude"]), env, session_id
    )
    done = subprocess.run(
        spec.argv,
        cwd=spec.cwd,
        env=spec.env,
        input=spec.stdin,
        stdin=None if spec.stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    )
    out = done.stdout.decode().replace(str(root), "/tmp/recording")
    (HERE / f"{name}.jsonl").write_text(out)
    posts = [f"{r.method} {r.path}" for r in server.requests]
    print(f"{name}: exit {done.returncode}, {len(out.splitlines())} lines; requests: {posts}")
    if done.stderr.strip():
        print("  stderr:", done.stderr.decode().strip()[:500])
    if server.pending:
        print(f"  {server.pending} scripted answer(s) left over")
    server.requests.clear()
    parser = adapter.parser()
    for line in out.splitlines():
        parser.feed(line)
    return parser.session_id


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="claude-code-rec-") as tmp:
        root = Path(tmp).resolve()
        (root / "home").mkdir()
        repo = root / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
        with ModelServer() as server:
            session = run(server, WRITE, root, "write_file")
            run(server, FOLLOW_UP, root, "follow_up", "Append a line to hello.txt.", session)
            run(server, DENIED, root, "permission_denied")
            run(server, RETRY, root, "api_retry")
            run(server, ERROR, root, "api_error")


if __name__ == "__main__":
    main()
