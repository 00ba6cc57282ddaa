"""Record what the real Aider prints, for the parser tests.

    uv run python tests/agents/cli/recordings/aider/record.py

Runs the pinned CLI (.tools/, see tests/cli_tools.py) exactly as Seedbed does (argv and
environment from AiderAdapter.prepare) in a fresh git repository, with a fresh HOME,
against tests/model_server.py on 127.0.0.1 with a fake key, and writes each run's
stdout next to this file, and what it saw to requests.txt. The temp dir's random name
is replaced by /tmp/recording. Every variable that points Python's HTTP clients at a
proxy is set to a closed port, so a request anywhere but 127.0.0.1 would fail (and
show in the output): the runs are offline.

- write_file.txt: the model creates hello.txt (Aider's "whole" edit format, its default
  for a model it does not know).
- follow_up.txt: the follow-up with the chat history restored; the model names
  hello.txt, Aider adds it to the chat and asks again, the model rewrites it.
- edit_fixed.txt: "diff" edit format; the model's SEARCH block does not match, Aider
  sends the error back, the second answer applies.
- edit_failed.txt: "diff" edit format; the SEARCH block never matches: Aider gives up
  after three reflections.
- api_retry.txt: the server fails (500) until Aider itself retries, then answers.
- api_error.txt: a request the server refuses (400): Aider prints the error, exits 0.
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
from tests.model_server import ModelServer, Response, answer, http_error  # noqa: E402

from seedbed.agents.base import RunRequest  # noqa: E402
from seedbed.agents.cli.aider import HISTORY_SESSION, AiderAdapter  # noqa: E402
from seedbed.domain.models import AgentKind, AgentProfile, RunKind  # noqa: E402

KEY = "sk-recording-fake-key"
CLOSED = "http://127.0.0.1:9"
WRITE = (answer("I will create the file.\n\nhello.txt\n```\nhello\n```\n", split_every=9),)
FOLLOW_UP = (
    answer("I will say it twice in hello.txt.\n\nhello.txt\n```\nhello\nhello\n```\n"),
    answer("Now it says hello twice.\n\nhello.txt\n```\nhello\nhello\n```\n"),
)
BAD_EDIT = answer(
    "Changing the greeting.\n\nsrc/app.py\n```python\n<<<<<<< SEARCH\nprint('nope')\n"
    "=======\nprint('hello')\n>>>>>>> REPLACE\n```\n"
)
GOOD_EDIT = answer(
    "Sorry, fixed.\n\nsrc/app.py\n```python\n<<<<<<< SEARCH\n    print('hi')\n=======\n"
    "    print('hello')\n>>>>>>> REPLACE\n```\n"
)
# The first answer names src/app.py, which is not in the chat yet: Aider adds it and asks
# again; so the edit error comes with the second answer.
EDIT_FIXED = (BAD_EDIT, BAD_EDIT, GOOD_EDIT)
EDIT_FAILED = (BAD_EDIT,) * 4  # the file added, then three reflections
# The OpenAI client under litellm retries a 500 twice on its own; the third makes Aider
# print the error and retry.
RETRY = (*[http_error(500, "upstream overloaded")] * 3, answer("Hello after a retry."))
ERROR = (http_error(400, "prompt is too long: 250000 tokens > 200000 maximum"),)


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    env = {
        **os.environ,
        **{f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
           for what, value in (("NAME", "Recorder"), ("EMAIL", "rec@example.com"))},
    }  # fmt: skip
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    (path / "README.md").write_text("# demo\n")
    (path / "src").mkdir()
    (path / "src" / "app.py").write_text("def main():\n    print('hi')\n")
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "initial"], cwd=path, check=True, env=env)
    return path


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
    *extra: str,
    follow_up: str = "",
    session_id: str = "",
) -> str:
    server.script(*answers)
    seen = len(server.requests)
    profile = AgentProfile(
        name="rec",
        kind=AgentKind.AIDER,
        model="test-model",
        base_url=server.openai_url,
        price_in=3,
        price_out=15,
        extra_args=list(extra),
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(root / "home"), "OPENAI_API_KEY": KEY}
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[variable] = env[variable.lower()] = CLOSED
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1"
    worktree = root / "worktrees" / "demo" / "1-write-hello"
    spec = AiderAdapter().prepare(
        profile, request(worktree, follow_up), str(BINARIES["aider"]), env, session_id
    )
    done = subprocess.run(
        spec.argv,
        cwd=spec.cwd,
        env=spec.env,
        input=spec.stdin,
        stdin=None if spec.stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=300,
    )
    out = done.stdout.decode().replace(str(root), "/tmp/recording")
    (HERE / f"{name}.txt").write_text(out)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "-uall"],
        cwd=worktree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert server.pending == 0, f"{name}: {server.pending} answers left"
    lines = [f"## {name}: exit {done.returncode}, stderr {done.stderr.decode()!r}"]
    lines += [f"{r.method} {r.path}" for r in server.requests[seen:]]
    lines.append(f"git status: {status.split()}")
    return "\n".join(lines) + "\n"


def main() -> None:
    report = []
    with tempfile.TemporaryDirectory() as tmp, ModelServer() as server:
        for name, answers, extra in (
            ("write_file", WRITE, ()),
            ("edit_fixed", EDIT_FIXED, ("--edit-format", "diff")),
            ("edit_failed", EDIT_FAILED, ("--edit-format", "diff")),
            ("api_retry", RETRY, ()),
            ("api_error", ERROR, ()),
        ):
            root = Path(tmp) / name
            (root / "home").mkdir(parents=True)
            make_repo(root / "worktrees" / "demo" / "1-write-hello")
            report.append(run(server, answers, root, name, *extra))
            if name == "write_file":
                report.append(
                    run(
                        server,
                        FOLLOW_UP,
                        root,
                        "follow_up",
                        follow_up="Say hello twice.",
                        session_id=HISTORY_SESSION,
                    )
                )
    (HERE / "requests.txt").write_text("".join(report))
    sys.stdout.write("".join(report))


if __name__ == "__main__":
    main()
