"""Records what the pinned Codex prints (`codex exec --json`) for the parser tests.

    uv run python -m tests.agents.cli.recordings.codex.record

Codex runs for real against tests/model_server.py (the Responses API on 127.0.0.1),
with a temporary HOME (so its CODEX_HOME) and a fake key, in a fresh git repository:

- write_file.jsonl: reasoning, a message, an `apply_patch` run through the shell tool
  (Codex turns it into a file change), a command, the final message, the usage.
- resume.jsonl: `exec resume` of that session with a follow-up that runs a command.
- failed_turn.jsonl: the server answers 500 and Codex is told not to retry.

Run it again after moving the pin in .ci/install-tools, and look at the diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.cli_tools import BINARIES
from tests.model_server import Answer, ModelServer, RawStream, answer, http_error

HERE = Path(__file__).resolve().parent
KEY = "sk-recording-not-a-real-key"
PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n"
REASONING = "**Writing hello.txt** with apply_patch, then checking it."


def with_reasoning(spec: Answer) -> RawStream:
    """`spec` as the Responses API renders it, with a reasoning summary first."""
    events = spec.events("responses", "test-model")
    item = {"id": "rs_scripted", "type": "reasoning", "summary": []}
    done = item | {"summary": [{"type": "summary_text", "text": REASONING}]}
    extra = [
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.reasoning_summary_part.added", "item_id": "rs_scripted",
         "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": ""}},
        {"type": "response.reasoning_summary_text.delta", "item_id": "rs_scripted",
         "output_index": 0, "summary_index": 0, "delta": REASONING},
        {"type": "response.output_item.done", "output_index": 0, "item": done},
    ]  # fmt: skip
    sse = [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in extra]
    return RawStream(events[:2] + sse + events[2:])


def codex(url: str, home: Path, work: Path, *args: str) -> str:
    provider = (
        f'{{ name = "Seedbed", base_url = "{url}", wire_api = "responses", '
        'env_key = "OPENAI_API_KEY" }'
    )
    argv = [
        str(BINARIES["codex"]), "exec", "--json", "--color", "never", "--skip-git-repo-check",
        "--sandbox", "workspace-write", "--model", "test-model",
        "-c", 'model_provider="seedbed"', "-c", f"model_providers.seedbed={provider}",
        "--cd", str(work), *args,
    ]  # fmt: skip
    env = {**os.environ, "HOME": str(home), "OPENAI_API_KEY": KEY}
    done = subprocess.run(
        argv, cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    sys.stderr.write(done.stderr)
    return done.stdout


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home, work = Path(tmp) / "home", Path(tmp) / "work"
        home.mkdir()
        work.mkdir()
        subprocess.run(["git", "init", "-q", str(work)], check=True)
        with ModelServer() as server:
            url = server.url + "/v1"
            server.script(
                with_reasoning(
                    answer(
                        "I will write the file.",
                        tool_calls=[("call_1", "exec_command",
                                     {"cmd": f"apply_patch <<'EOF'\n{PATCH}EOF\n"})],
                        usage=(1200, 40),
                    )
                ),
                answer(tool_calls=[("call_2", "exec_command", {"cmd": "cat hello.txt"})],
                       usage=(1500, 20)),
                answer("Done: hello.txt says hello.", usage=(1700, 15)),
            )  # fmt: skip
            first = codex(url, home, work, "--", "Write hello.txt")
            (HERE / "write_file.jsonl").write_text(first)
            thread = json.loads(first.splitlines()[0])["thread_id"]

            server.script(
                answer(tool_calls=[("call_3", "exec_command",
                                    {"cmd": "printf 'again\\n' >> hello.txt"})],
                       usage=(2000, 12)),
                answer("Added a second line.", usage=(2100, 8)),
            )  # fmt: skip
            second = codex(url, home, work, "resume", thread, "--", "Add a line")
            (HERE / "resume.jsonl").write_text(second)

            server.script(http_error(500, "the model is down"))
            failed = codex(
                url, home, work,
                "-c", "model_providers.seedbed.request_max_retries=0",
                "-c", "model_providers.seedbed.stream_max_retries=0",
                "--", "Write hello.txt",
            )  # fmt: skip
            (HERE / "failed_turn.jsonl").write_text(failed)
            assert not server.errors, server.errors


if __name__ == "__main__":
    main()
