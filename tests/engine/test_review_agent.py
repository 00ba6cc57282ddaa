"""The verify-always path end to end, with the built-in agent against a scripted model
server: plan → approve → implement → failing check → fix round → passing check → the
reviewer asks for changes → fix → the reviewer approves → merged (auto-merge), every step
in `task show --json` and the log."""

from __future__ import annotations

import json
from pathlib import Path

from seedbed.core.review_agent import ReviewVerdict, Verdict, parse_verdict
from seedbed.domain.models import Run
from seedbed.store import Store
from tests.conftest import SeedbedCli, git
from tests.engine.test_builtin_agent import builtin_profile
from tests.model_server import ModelServer, answer

CHECK = "grep -q world hello.txt || { echo 'hello.txt has no world'; exit 1; }"


def write(call: str, content: str) -> answer:  # type: ignore[valid-type]
    return answer(tool_calls=[(call, "write_file", {"path": "hello.txt", "content": content})])


def verdict(data: dict[str, object]) -> str:
    return "I read the change.\n\n```json\n" + json.dumps(data) + "\n```"


def test_plan_approve_implement_fix_review_fix_approve_and_merge(
    seedbed: SeedbedCli, repo: Path, model_server: ModelServer
) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", CHECK)
    builtin_profile(seedbed, "anthropic", model_server.url, name="coder")
    builtin_profile(seedbed, "anthropic", model_server.url, name="critic")
    asks = {"verdict": "request_changes", "summary": "Say it louder."}
    asks["comments"] = [{"path": "hello.txt", "line": 1, "body": "End with an exclamation mark"}]
    model_server.script(
        answer("# Plan\n\nWrite hello.txt.\n"),  # run 1: the planner
        write("c1", "hello\n"), answer("Wrote hello."),  # run 2: the check fails
        write("c2", "hello world\n"), answer("Added the world."),  # run 2: fix round 1
        answer(verdict(asks)),  # run 3: the reviewer asks for changes
        write("c3", "hello world!\n"), answer("Louder."),  # run 4: fix round 2
        answer(verdict({"verdict": "approve", "summary": "Good."})),  # run 5
    )  # fmt: skip
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Greet the world", "--profile", "coder",
        "--reviewer", "critic", "--auto-merge", "--plan-first", "--start",
    ).out.strip()  # fmt: skip
    seedbed.ok("run", "--until-idle")
    assert seedbed.show(task_id)["phase"] == "plan_ready"
    seedbed.ok("task", "plan", task_id, "--approve")
    seedbed.ok("run", "--until-idle")

    shown = seedbed.show(task_id)
    assert shown["state"] == "merged", shown
    assert [(r["kind"], r["status"]) for r in shown["runs"]] == [
        ("plan", "succeeded"),
        ("implement", "succeeded"),
        ("fix", "succeeded"),
        ("review", "succeeded"),
        ("fix", "succeeded"),
        ("review", "succeeded"),
        ("merge", "succeeded"),  # the auto-merge: the checks passed on that tree already
    ]
    checks = [r.checks.status.value for r in runs_of(seedbed, int(task_id))]
    assert checks == ["none", "failed", "passed", "passed", "passed", "passed", "passed"]
    assert shown["fix_rounds_used"] == 2 and shown["review_verdict"] == "approve"
    assert (repo / "hello.txt").read_text() == "hello world!\n"
    assert git(repo, "log", "-1", "--format=%s", "main").strip() == "Greet the world"
    assert len(model_server.posts) == 9
    assert "Write hello.txt." in model_server.posts[1].body["system"]  # the approved plan

    # The reviewer ran with a fresh context: the task and the diff, not the coder's talk.
    review_post = model_server.posts[5].body
    first_message = json.dumps(review_post["messages"][0])
    assert "+hello world" in first_message and "Greet the world" in first_message
    assert "Added the world." not in json.dumps(review_post["messages"])
    offered = {tool["name"] for tool in review_post["tools"]}
    assert offered == {"read_file", "list_files", "search", "run_command"}  # no writing
    # The fix after the review got the reviewer's comment, quoted, as its follow-up.
    fix_post = json.dumps(model_server.posts[6].body["messages"])
    assert "End with an exclamation mark" in fix_post and "from the reviewer agent" in fix_post
    comments = seedbed.ok("comment", "list", task_id, "--json").json()
    assert [(c["author"], c["path"], c["line"], c["sent"]) for c in comments] == [
        ("reviewer", "hello.txt", 1, True)
    ]
    messages = [
        e.get("message", "")
        for n in range(1, 7)
        for e in seedbed.log_events(int(task_id), "--run", str(n))
    ]
    assert any("fix round 1 of 2" in m for m in messages)
    assert any("the reviewer asked for changes (1 comment): Say it louder." in m for m in messages)
    assert any(m == "the reviewer approved: Good." for m in messages)
    assert any(m.startswith("auto-merged into main") for m in messages)


def test_without_rounds_left_the_reviewers_comments_wait_for_the_developer(
    seedbed: SeedbedCli, repo: Path, model_server: ModelServer
) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--fix-rounds", "0")
    builtin_profile(seedbed, "anthropic", model_server.url, name="coder")
    scribble = {"path": "hello.txt", "content": "REVIEWER WAS HERE\n"}
    asks = {"verdict": "request_changes", "summary": "Not quite."}
    asks["comments"] = [{"path": "hello.txt", "line": 1, "body": "Say world"}]
    model_server.script(
        write("c1", "hello\n"),
        answer("Done."),
        answer("I will fix it myself.", tool_calls=[("c9", "write_file", scribble)]),
        answer(verdict(asks)),
    )
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Greet", "--profile", "coder",
        "--reviewer", "coder", "--auto-merge", "--start",
    ).out.strip()  # fmt: skip
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready")
    assert shown["review_verdict"] == "request_changes"
    # What the reviewer wrote was undone; the work is as the coder left it.
    worktree = Path(shown["worktree"])
    assert (worktree / "hello.txt").read_text() == "hello\n"
    assert git(worktree, "status", "--porcelain") == ""
    comments = seedbed.ok("comment", "list", task_id, "--json").json()
    assert [(c["author"], c["body"], c["sent"]) for c in comments] == [
        ("reviewer", "Say world", False)
    ]
    messages = [e.get("message", "") for e in seedbed.log_events(int(task_id))]
    assert any(m == "not auto-merged: no checks ran" for m in messages)


def test_an_answer_without_a_verdict_is_said_and_waits(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    builtin_profile(seedbed, "anthropic", model_server.url, name="coder")
    model_server.script(write("c1", "hello\n"), answer("Done."), answer("Looks fine to me."))
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Greet", "--profile", "coder",
        "--reviewer", "coder", "--start",
    ).out.strip()  # fmt: skip
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert (shown["phase"], shown["review_verdict"]) == ("ready", "none")
    assert "the reviewer gave no verdict" in shown["error"]


def test_the_verdict_is_the_last_json_object_that_is_one() -> None:
    text = (
        'Example: {"verdict": "maybe"}\n```json\n{"verdict": "approve", "summary": "ok"}\n```\n'
        "and a stray brace {"
    )
    assert parse_verdict(text) == ReviewVerdict(verdict=Verdict.APPROVE, summary="ok")
    bare = 'Fine. {"verdict": "request_changes", "comments": [{"path": "a.py", "body": "x"}]}'
    parsed = parse_verdict(bare)
    assert parsed is not None and parsed.comments[0].path == "a.py"
    assert parse_verdict("no verdict here") is None
    assert parse_verdict('{"verdict": "approve", "comments": [{"path": "a"}]}') is None


def runs_of(seedbed: SeedbedCli, task_id: int) -> list[Run]:
    store = Store.open(seedbed.data_dir)
    try:
        return store.list_runs(task_id)
    finally:
        store.close()


def test_a_reviewer_that_commits_changes_nothing_and_approval_gates_the_merge(
    seedbed: SeedbedCli, repo: Path
) -> None:
    seedbed.ok(
        "project", "add", str(repo), "--name", "demo", "--check", "test -f work.txt",
        "--fix-rounds", "0",
    )  # fmt: skip
    seedbed.ok("profile", "add", "coder", "--kind", "command", "--command", "echo w > work.txt")
    sneaky = (
        "echo evil > evil.txt && git add evil.txt && git commit -qm evil && "
        """echo '{"verdict": "approve", "summary": "ship it"}'"""
    )
    seedbed.ok("profile", "add", "sneaky", "--kind", "command", "--command", sneaky)
    no = {"verdict": "request_changes", "comments": [{"path": "work.txt", "body": "no"}]}
    fussy = f"echo '{json.dumps(no)}'"
    seedbed.ok("profile", "add", "fussy", "--kind", "command", "--command", fussy)

    merged = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Work", "--profile", "coder",
        "--reviewer", "sneaky", "--auto-merge", "--start",
    ).out.strip()  # fmt: skip
    seedbed.ok("run", "--until-idle")
    assert seedbed.show(merged)["state"] == "merged"
    assert (repo / "work.txt").exists() and not (repo / "evil.txt").exists()
    assert "evil" not in git(repo, "log", "--format=%s", "main")

    # A change of its own (work.txt as merged would be no change: no checks, no review).
    more = "echo more > work.txt"
    seedbed.ok("profile", "add", "more", "--kind", "command", "--command", more)
    held = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "More work", "--profile", "more",
        "--reviewer", "fussy", "--auto-merge", "--start",
    ).out.strip()  # fmt: skip
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(held)
    assert (shown["state"], shown["review_verdict"]) == ("awaiting_review", "request_changes")
    messages = [e.get("message", "") for e in seedbed.log_events(int(held))]
    assert "not auto-merged: the reviewer did not approve" in messages
