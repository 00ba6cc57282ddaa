"""`seedbed task log`: --json is one document (as the README says of --json), --jsonl a
stream of events, one per line, also while following a run."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import SeedbedCli
from tests.test_cli import error_line, run_task, subprocess_env


def test_task_log_json_is_one_document_of_runs_and_their_events(
    seedbed: SeedbedCli, project: str
) -> None:
    task = run_task(seedbed, "echo hello from the agent")
    task_id = str(task["id"])
    seedbed.ok("task", "start", task_id)  # a second run, to continue
    seedbed.ok("run", "--until-idle")

    document = seedbed.ok("task", "log", task_id, "--json").json()

    assert document["task"] == task["id"]
    assert [run["number"] for run in document["runs"]] == [1, 2]
    first = document["runs"][0]
    assert (first["kind"], first["status"]) == ("implement", "succeeded")
    assert [e["seq"] for e in first["events"]] == list(range(len(first["events"])))
    assert {"kind": "output", "stream": "stdout", "line": "hello from the agent"}.items() <= next(
        e for e in first["events"] if e["kind"] == "output"
    ).items()
    only = seedbed.ok("task", "log", task_id, "--json", "--run", "2").json()
    assert only == {"task": task["id"], "runs": [document["runs"][1]]}
    lines = seedbed.ok("task", "log", task_id, "--jsonl").out.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"run": 2, **event} for event in document["runs"][1]["events"]
    ]
    assert "--jsonl" in error_line(seedbed("task", "log", task_id, "--json", "--follow"))


def test_task_log_jsonl_follows_a_run_to_its_end(seedbed: SeedbedCli, project: str) -> None:
    seedbed.ok("profile", "add", "slow", "--kind", "command", "--command", "sleep 1; echo late")
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Slow", "--profile", "slow", "--start"
    ).out.strip()
    engine = seedbed.spawn("run", "--until-idle")
    argv = ["--data-dir", str(seedbed.data_dir), "task", "log", task_id, "--follow", "--jsonl"]
    follower = subprocess.run(
        [sys.executable, "-m", "seedbed", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
        check=False,
    )
    engine.communicate(timeout=60)

    assert follower.returncode == 0, follower.stderr
    events = [json.loads(line) for line in follower.stdout.splitlines()]
    assert any(e.get("line") == "late" for e in events)
    assert events[-1]["kind"] == "status"
    assert [e["seq"] for e in events] == list(range(len(events)))
