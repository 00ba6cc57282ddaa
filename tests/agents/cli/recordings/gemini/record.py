"""Record what the real Gemini CLI prints, for the parser tests.

    uv run python tests/agents/cli/recordings/gemini/record.py

Runs the pinned CLI (.tools/, see tests/cli_tools.py) exactly as Seedbed does (argv,
environment and stdin from GeminiAdapter.prepare, a profile with model gemini-2.5-flash
and the model server as its base URL) in a fresh git repository, with a fresh HOME and a
fake key, against tests/model_server.py on 127.0.0.1, and writes each run's stdout next
to this file. The model server does not speak the Gemini API by itself: its answers are
raw SSE streams in that format (`gemini_answer` in tests/agents/cli/test_gemini.py).
Temp paths are replaced by /tmp/recording. Nothing secret is in them.

The fresh HOME's ~/.gemini/settings.json selects the "gemini-api-key" auth (with a base
URL in its environment the CLI would pick "gateway", which headless runs refuse) and
turns usage statistics off.

- write_file.jsonl: the model says something (two deltas), writes hello.txt
  (write_file), runs `cat hello.txt` (run_shell_command), and answers.
- follow_up.jsonl: `--resume` of that session; the model edits the file (replace).
- tool_errors.jsonl: a read of a missing file, a command that exits 3, a glob and a
  todo list.
- api_error.jsonl: the server answers 400 (a bad key): an error result.
- empty_response.jsonl: the model answers nothing (the CLI asks four times): an
  `error` line and an error result, with exit code 0.
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

from tests.agents.cli.test_gemini import SETTINGS, gemini_answer, gemini_error  # noqa: E402
from tests.cli_tools import BINARIES  # noqa: E402
from tests.model_server import ModelServer, Response  # noqa: E402

from seedbed.agents.base import RunRequest  # noqa: E402
from seedbed.agents.cli.gemini import GeminiAdapter  # noqa: E402
from seedbed.domain.models import AgentKind, AgentProfile, RunKind  # noqa: E402


def run(
    server: ModelServer,
    home: Path,
    repo: Path,
    script: list[Response],
    follow_up: str = "",
    session_id: str = "",
) -> tuple[str, str, int]:
    profile = AgentProfile(
        name="rec", kind=AgentKind.GEMINI, model="gemini-2.5-flash", base_url=server.url
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
        "GEMINI_API_KEY": "fake-gemini-key",  # as CliRuntime puts a resolved key
    }
    spec = GeminiAdapter().prepare(profile, request, str(BINARIES["gemini"]), env, session_id)
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


def save(name: str, out: str, tmp: Path) -> None:
    text = out.replace(str(tmp), "/tmp/recording")
    (HERE / name).write_text(text)
    print(f"{name}: {len(text.splitlines())} lines")


def main() -> None:
    with tempfile.TemporaryDirectory() as name, ModelServer() as server:
        tmp = Path(name)
        home, repo = tmp / "home", tmp / "repo"
        (home / ".gemini").mkdir(parents=True)
        (home / ".gemini" / "settings.json").write_text(json.dumps(SETTINGS))
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)

        write = {"file_path": "hello.txt", "content": "hello\n"}
        out, err, code = run(
            server,
            home,
            repo,
            [
                gemini_answer(["I will write ", "the file."], [("write_file", write)], (1200, 40)),
                gemini_answer(
                    calls=[
                        (
                            "run_shell_command",
                            {"command": "cat hello.txt", "description": "Show it"},
                        )
                    ],
                    usage=(1500, 20),
                ),
                gemini_answer(["Done: hello.txt ", "says hello."], usage=(1700, 15)),
            ],
        )
        assert code == 0 and (repo / "hello.txt").read_text() == "hello\n", err
        save("write_file.jsonl", out, tmp)
        session = json.loads(out.splitlines()[0])["session_id"]

        replace = {
            "file_path": "hello.txt",
            "instruction": "Say bye",
            "old_string": "hello",
            "new_string": "bye",
        }
        out, err, code = run(
            server,
            home,
            repo,
            [
                gemini_answer(calls=[("replace", replace)], usage=(1900, 30)),
                gemini_answer(["It says bye now."], usage=(2000, 8), cached=1500),
            ],
            follow_up="Make it say bye.",
            session_id=session,
        )
        assert code == 0 and (repo / "hello.txt").read_text() == "bye\n", err
        save("follow_up.jsonl", out, tmp)

        out, err, code = run(
            server,
            home,
            repo,
            [
                gemini_answer(
                    calls=[
                        ("read_file", {"file_path": "missing.txt"}),
                        ("run_shell_command", {"command": "exit 3", "description": "Fail"}),
                    ],
                    usage=(300, 20),
                ),
                gemini_answer(
                    calls=[
                        ("glob", {"pattern": "*.txt"}),
                        ("write_todos", {"todos": [{"description": "check", "status": "pending"}]}),
                    ],
                    usage=(400, 20),
                ),
                gemini_answer(["Both failed."], usage=(500, 5)),
            ],
        )
        assert code == 0, err
        save("tool_errors.jsonl", out, tmp)

        out, err, code = run(
            server,
            home,
            repo,
            [gemini_error(400, "API key not valid. Please pass a valid API key.")],
        )
        assert code != 0, err
        save("api_error.jsonl", out, tmp)

        out, err, code = run(server, home, repo, [gemini_answer([""], usage=(100, 0))] * 4)
        assert code == 0 and not server.pending, err
        save("empty_response.jsonl", out, tmp)


if __name__ == "__main__":
    main()
