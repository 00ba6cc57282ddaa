"""Record what the real OpenCode prints, for the parser tests.

    uv run python tests/agents/cli/recordings/opencode/record.py

Runs the pinned CLI (.tools/, see tests/cli_tools.py) exactly as Seedbed does (argv,
environment and stdin from OpenCodeAdapter.prepare, a profile `local/test-model` with the
model server's OpenAI-compatible URL as its base URL) in a fresh git repository, with a
fresh HOME, against tests/model_server.py on 127.0.0.1, and writes each run's stdout
next to this file. Temp paths are replaced by /tmp/recording; the model server's port by
PORT. Nothing secret is in them: there is no key, and the HOME is empty.

The inherited OPENCODE_CONFIG_CONTENT gives the model a price (3 and 15 USD per million
tokens), so that step_finish reports a cost; prepare extends it with the provider.

- write_file.jsonl: the model says something, writes hello.txt (write), runs
  `cat hello.txt` (bash), and answers.
- follow_up.jsonl: `--session` continues that session; the model edits the file (edit).
- tool_errors.jsonl: a read of a missing file, a command that exits 3, a todo list.
- permission_denied.jsonl: `--permission-mode config` with the user's `bash: ask`; the
  command is rejected and the run ends.
- permission_rule.jsonl: `--auto`, but the user's config denies `rm *`: the command is
  refused, the model is told so and answers.
- api_error.jsonl: the server answers 401: an error line, exit code 1.
"""

from __future__ import annotations

import json
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
from seedbed.agents.cli.opencode import OpenCodeAdapter  # noqa: E402
from seedbed.domain.models import AgentKind, AgentProfile, RunKind  # noqa: E402

PRICED = {"provider": {"local": {"models": {"test-model": {"cost": {"input": 3, "output": 15}}}}}}


def run(
    server: ModelServer,
    home: Path,
    repo: Path,
    script: list[Response],
    follow_up: str = "",
    session_id: str = "",
    permission_mode: str = "",
    config: dict[str, object] | None = None,
) -> tuple[str, str, int]:
    profile = AgentProfile(
        name="rec",
        kind=AgentKind.OPENCODE,
        model="local/test-model",
        base_url=server.openai_url,
        permission_mode=permission_mode,
    )
    request = RunRequest(
        task_id=1,
        run_id=1,
        run_number=2 if follow_up else 1,
        kind=RunKind.IMPLEMENT,
        title="Write hello.txt",
        prompt="Create hello.txt that says hello, then check it.",
        worktree=repo,
        follow_up=follow_up,
    )
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "PWD": str(ROOT),  # stale on purpose: prepare must point it at the worktree
        "OPENCODE_CONFIG_CONTENT": json.dumps(config or PRICED),
    }
    spec = OpenCodeAdapter().prepare(profile, request, str(BINARIES["opencode"]), env, session_id)
    server.script(*script)
    result = subprocess.run(
        spec.argv,
        cwd=spec.cwd,
        env=spec.env,
        input=spec.stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return result.stdout.decode(), result.stderr.decode(), result.returncode


def save(name: str, out: str, tmp: Path, port: int) -> None:
    text = out.replace(str(tmp), "/tmp/recording").replace(f"127.0.0.1:{port}", "127.0.0.1:PORT")
    (HERE / name).write_text(text)
    print(f"{name}: {len(text.splitlines())} lines")


def main() -> None:
    with tempfile.TemporaryDirectory() as name, ModelServer() as server:
        tmp = Path(name)
        home, repo = tmp / "home", tmp / "repo"
        home.mkdir()
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        port = int(server.url.rsplit(":", 1)[1])

        out, err, code = run(
            server,
            home,
            repo,
            [
                answer(
                    ["I will write ", "the file."],
                    tool_calls=[
                        ("call_1", "write", {"filePath": "hello.txt", "content": "hello\n"})
                    ],
                    usage=(1200, 40),
                ),
                answer(
                    tool_calls=[
                        ("call_2", "bash", {"command": "cat hello.txt", "description": "Show it"})
                    ],
                    usage=(1500, 20),
                ),
                answer("Done: hello.txt says hello.", usage=(1700, 15)),
            ],
        )
        assert code == 0 and (repo / "hello.txt").read_text() == "hello\n", err
        save("write_file.jsonl", out, tmp, port)
        session = json.loads(out.splitlines()[0])["sessionID"]

        out, err, code = run(
            server,
            home,
            repo,
            [
                answer(
                    tool_calls=[
                        (
                            "call_3",
                            "edit",
                            {"filePath": "hello.txt", "oldString": "hello", "newString": "bye"},
                        )
                    ],
                    usage=(1900, 30),
                ),
                answer("It says bye now.", usage=(2000, 8)),
            ],
            follow_up="Make it say bye.",
            session_id=session,
        )
        assert code == 0 and (repo / "hello.txt").read_text() == "bye\n", err
        save("follow_up.jsonl", out, tmp, port)

        out, err, code = run(
            server,
            home,
            repo,
            [
                answer(
                    tool_calls=[
                        ("call_4", "read", {"filePath": "missing.txt"}),
                        ("call_5", "bash", {"command": "exit 3", "description": "Fail"}),
                    ],
                    usage=(300, 20),
                ),
                answer(
                    tool_calls=[
                        (
                            "call_6",
                            "todowrite",
                            {
                                "todos": [
                                    {"content": "check", "status": "pending", "priority": "high"}
                                ]
                            },
                        )
                    ],
                    usage=(400, 20),
                ),
                answer("Both failed.", usage=(500, 5)),
            ],
        )
        assert code == 0, err
        save("tool_errors.jsonl", out, tmp, port)

        asking = {"permission": {"bash": "ask"}, **PRICED}
        out, err, code = run(
            server,
            home,
            repo,
            [
                answer(
                    tool_calls=[
                        ("call_7", "bash", {"command": "rm -rf build", "description": "Clean"})
                    ],
                    usage=(600, 10),
                ),
            ],
            permission_mode="config",
            config=asking,
        )
        assert code == 0 and "auto-rejecting" in err, err
        save("permission_denied.jsonl", out, tmp, port)

        denying = {"permission": {"bash": {"*": "allow", "rm *": "deny"}}, **PRICED}
        out, err, code = run(
            server,
            home,
            repo,
            [
                answer(
                    tool_calls=[
                        ("call_8", "bash", {"command": "rm -rf build", "description": "Clean"})
                    ],
                    usage=(700, 10),
                ),
                answer("I may not delete it.", usage=(800, 6)),
            ],
            config=denying,
        )
        assert code == 0 and not server.pending, err
        save("permission_rule.jsonl", out, tmp, port)

        out, err, code = run(server, home, repo, [http_error(401, "Incorrect API key provided")])
        assert code == 1, err
        save("api_error.jsonl", out, tmp, port)


if __name__ == "__main__":
    main()
