"""Plan first: the planner writes a plan, the developer sends it back or approves it,
the executor follows it; or the plan splits the task into smaller ones."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SeedbedCli, git
from tests.engine.test_builtin_agent import builtin_profile
from tests.model_server import ModelServer, answer

PLAN_1 = "# Plan\n\n1. Write hello.txt.\n"
PLAN_2 = "# Plan\n\n1. Write hello.txt with hello world.\n2. Check it.\n"


def test_plan_send_back_approve_and_implement(
    seedbed: SeedbedCli, project: str, repo: Path, model_server: ModelServer
) -> None:
    builtin_profile(seedbed, "anthropic", model_server.url, name="coder")
    builtin_profile(seedbed, "anthropic", model_server.url, name="thinker")
    scribble = {"path": "notes.txt", "content": "planner scratch\n"}
    model_server.script(
        answer("Let me look.", tool_calls=[("c1", "write_file", scribble)]),
        answer(PLAN_1),
    )
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Greet", "--prompt", "Say hello",
        "--profile", "coder", "--planner", "thinker", "--plan-first", "--start",
    ).out.strip()  # fmt: skip
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "plan_ready")
    assert shown["plan"] == PLAN_1 and shown["planner"] == "thinker"
    worktree = Path(shown["worktree"])
    assert not (worktree / "notes.txt").exists()  # the planner changes nothing
    assert git(worktree, "status", "--porcelain") == ""
    assert "Plan this task" in json.dumps(model_server.posts[0].body["messages"][0])
    # The planner reads and searches only: no write tool offered, a call to one refused.
    offered = {tool["name"] for tool in model_server.posts[0].body["tools"]}
    assert offered == {"read_file", "list_files", "search"}
    assert "write_file is not available in a plan run" in json.dumps(
        model_server.posts[1].body["messages"]
    )
    refused = seedbed("task", "start", task_id)
    assert refused.code == 2 and "approve it" in refused.err

    model_server.script(answer(PLAN_2))
    seedbed.ok("task", "plan", task_id, "--request-changes", "Say hello to the world")
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert (shown["phase"], shown["plan"]) == ("plan_ready", PLAN_2)
    again = json.dumps(model_server.posts[2].body["messages"][0])
    assert "Say hello to the world" in again and "Write hello.txt." in again

    write = {"path": "hello.txt", "content": "hello world\n"}
    model_server.script(answer(tool_calls=[("c2", "write_file", write)]), answer("Done."))
    seedbed.ok("task", "plan", task_id, "--approve")
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready")
    assert [r["kind"] for r in shown["runs"]] == ["plan", "plan", "implement"]
    assert "Check it." in model_server.posts[3].body["system"]  # the plan, to the executor
    assert git(worktree, "show", "HEAD:hello.txt") == "hello world\n"
    assert seedbed("task", "plan", task_id, "--approve").code == 2  # nothing waits now


def test_an_auto_approved_plan_goes_straight_on(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    builtin_profile(seedbed, "anthropic", model_server.url, name="coder")
    write = {"path": "hello.txt", "content": "hello\n"}
    model_server.script(
        answer(PLAN_1), answer(tool_calls=[("c1", "write_file", write)]), answer("Done.")
    )
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Greet", "--auto-approve-plan", "--start"
    ).out.strip()
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert (shown["phase"], shown["plan"]) == ("ready", PLAN_1)
    assert [r["kind"] for r in shown["runs"]] == ["plan", "implement"]


def test_a_plan_may_split_the_task(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    builtin_profile(seedbed, "anthropic", model_server.url, name="coder")
    parts = [
        {"title": "Add the parser", "prompt": "Parse the config file."},
        {"title": "Use the parser", "prompt": "Read settings through it."},
    ]
    model_server.script(answer("Two pieces.\n```json\n" + json.dumps({"split": parts}) + "\n```"))
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Config", "--plan-first", "--start"
    ).out.strip()
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert shown["phase"] == "plan_ready"
    listed = seedbed.ok("task", "list", "--json").json()
    children = [t for t in listed if t["parent_id"] == int(task_id)]
    assert [(t["title"], t["prompt"], t["state"]) for t in children] == [
        ("Add the parser", "Parse the config file.", "planned"),
        ("Use the parser", "Read settings through it.", "planned"),
    ]
    assert all(f"#{t['id']} {t['title']}" in shown["plan"] for t in children)


def test_a_projects_roles_are_its_tasks_defaults(seedbed: SeedbedCli, repo: Path) -> None:
    for name in ("first", "coder", "thinker", "critic"):
        seedbed.ok("profile", "add", name, "--kind", "command", "--command", "true")
    seedbed.ok(
        "project", "add", str(repo), "--name", "demo",
        "--executor", "coder", "--planner", "thinker", "--reviewer", "critic",
    )  # fmt: skip
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", "T").out.strip()
    shown = seedbed.show(task_id)
    assert (shown["profile"], shown["planner"], shown["reviewer"]) == ("coder", "thinker", "critic")
    named = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "U", "--profile", "first",
        "--reviewer", "coder",
    ).out.strip()  # fmt: skip
    assert (seedbed.show(named)["profile"], seedbed.show(named)["reviewer"]) == ("first", "coder")

    seedbed.ok("project", "set", "demo", "--reviewer", "", "--fix-rounds", "5")
    later = seedbed.ok("task", "add", "--project", "demo", "--title", "V").out.strip()
    assert seedbed.show(later)["reviewer"] is None
    [project] = seedbed.ok("project", "list", "--json").json()
    assert project["fix_rounds"] == 5 and project["planner_profile_id"] is not None
    refused = seedbed("project", "set", "demo", "--fix-rounds", "99")
    assert refused.code == 2 and "--fix-rounds must be 0 to 10" in refused.err
    assert seedbed("project", "set", "demo", "--planner", "nobody").code == 2


def test_a_command_can_plan_and_review_with_what_it_prints(seedbed: SeedbedCli, repo: Path) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    seedbed.ok(
        "profile", "add", "planner", "--kind", "command", "--command",
        "printf '# Plan\\n\\n1. Write it.\\n'; echo scratch > scratch.txt",
    )  # fmt: skip
    seedbed.ok(
        "profile", "add", "coder", "--kind", "command", "--command", 'echo "$SEEDBED_PLAN" > hi.txt'
    )
    seedbed.ok(
        "profile", "add", "judge", "--kind", "command", "--command",
        """echo 'Looks right. {"verdict": "approve", "summary": "fine"}'""",
    )  # fmt: skip
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Hi", "--profile", "coder",
        "--planner", "planner", "--reviewer", "judge", "--auto-approve-plan", "--start",
    ).out.strip()  # fmt: skip
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert shown["plan"] == "# Plan\n\n1. Write it.\n"
    assert [r["kind"] for r in shown["runs"]] == ["plan", "implement", "review"]
    assert (shown["phase"], shown["review_verdict"]) == ("ready", "approve")
    worktree = Path(shown["worktree"])
    assert not (worktree / "scratch.txt").exists()
    assert (worktree / "hi.txt").read_text() == "# Plan\n\n1. Write it.\n\n"  # the plan


def test_a_failed_plan_is_planned_again_and_a_plan_is_not_sent_back_as_code(
    seedbed: SeedbedCli, repo: Path
) -> None:
    # First the planner fails: the task is agent_failed, with no plan.
    task_id = planned_with(seedbed, repo, "broken")
    assert seedbed.show(task_id)["phase"] == "agent_failed"
    # Started again, it plans again (not straight to code).
    store_set_planner(seedbed, int(task_id), "good")
    seedbed.ok("task", "start", task_id)
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert [r["kind"] for r in shown["runs"]] == ["plan", "plan"]
    assert (shown["phase"], shown["plan"]) == ("plan_ready", "# Plan\n")
    refused = seedbed("task", "request-changes", task_id, "--message", "code it")
    assert refused.code == 2 and "--request-changes" in refused.err


def planned_with(seedbed: SeedbedCli, repo: Path, planner: str) -> str:
    """Project "demo", a planner that plans ("good") and one that fails ("broken"), and
    a plan-first task planned by `planner`, run until idle; its id."""
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    seedbed.ok("profile", "add", "good", "--kind", "command", "--command", "echo '# Plan'")
    seedbed.ok("profile", "add", "broken", "--kind", "command", "--command", "exit 3")
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "T", "--profile", "good",
        "--planner", planner, "--plan-first", "--start",
    ).out.strip()  # fmt: skip
    seedbed.ok("run", "--until-idle")
    return task_id


def store_set_planner(seedbed: SeedbedCli, task_id: int, name: str) -> None:
    from seedbed.store import Store

    store = Store.open(seedbed.data_dir)
    try:
        store.update_task(task_id, planner_profile_id=store.find_profile(name).id)
    finally:
        store.close()


def split_in_two(seedbed: SeedbedCli, model_server: ModelServer) -> str:
    """A plan-first task "Both" whose planner split it into tasks A and B; its id."""
    builtin_profile(seedbed, "anthropic", model_server.url, name="coder")
    parts = [{"title": "A", "prompt": "a"}, {"title": "B", "prompt": "b"}]
    model_server.script(answer("```json\n" + json.dumps({"split": parts}) + "\n```"))
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Both", "--plan-first", "--start"
    ).out.strip()
    seedbed.ok("run", "--until-idle")
    return task_id


def test_a_split_parent_is_not_implemented_whole(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    task_id = split_in_two(seedbed, model_server)
    refused = seedbed("task", "plan", task_id, "--approve")
    assert refused.code == 2 and "was split into" in refused.err


def test_a_profile_in_any_role_is_let_go_of_when_removed(seedbed: SeedbedCli, repo: Path) -> None:
    from seedbed.store import Store

    for name in ("coder", "critic", "spare"):
        seedbed.ok("profile", "add", name, "--kind", "command", "--command", "true")
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--reviewer", "critic")
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "T", "--profile", "coder"
    ).out.strip()
    store = Store.open(seedbed.data_dir)
    try:
        critic = store.find_profile("critic").id
        refused = None
        try:
            store.delete_profile(critic)  # task T (planned) has it as its reviewer
        except Exception as exc:
            refused = exc
        assert refused is not None and "use this profile" in str(refused)
        seedbed.ok("task", "discard", task_id)
        store.delete_profile(critic)  # a done task and the project's default let go
        assert store.get_task(int(task_id)).reviewer_profile_id is None
        assert store.find_project("demo").reviewer_profile_id is None
    finally:
        store.close()


def test_code_waits_for_an_approved_plan_however_the_planning_went(
    seedbed: SeedbedCli, repo: Path
) -> None:
    task_id = planned_with(seedbed, repo, "good")
    assert seedbed.show(task_id)["phase"] == "plan_ready"
    # Sent back, and the second planning fails: the rejected plan is no licence to code.
    store_set_planner(seedbed, int(task_id), "broken")
    seedbed.ok("task", "plan", task_id, "--request-changes", "Smaller steps")
    seedbed.ok("run", "--until-idle")
    assert seedbed.show(task_id)["phase"] == "agent_failed"
    refused = seedbed("task", "request-changes", task_id, "--message", "just code it")
    assert refused.code == 2 and "no approved plan" in refused.err
    store_set_planner(seedbed, int(task_id), "good")
    seedbed.ok("task", "start", task_id)
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert [r["kind"] for r in shown["runs"]] == ["plan", "plan", "plan"]
    assert shown["phase"] == "plan_ready"
    seedbed.ok("task", "plan", task_id, "--approve")
    seedbed.ok("run", "--until-idle")
    assert [r["kind"] for r in seedbed.show(task_id)["runs"]][-1] == "implement"


def test_a_split_parent_can_be_planned_whole_once_its_parts_are_discarded(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    task_id = split_in_two(seedbed, model_server)
    children = [t["id"] for t in seedbed.ok("task", "list", "--json").json() if t["parent_id"]]
    for child in children:
        seedbed.ok("task", "discard", str(child))
    model_server.script(answer("# Whole plan\n"))
    seedbed.ok("task", "plan", task_id, "--request-changes", "Do it in one go")
    seedbed.ok("run", "--until-idle")
    assert seedbed.show(task_id)["plan"] == "# Whole plan\n"
    seedbed.ok("task", "plan", task_id, "--approve")


def test_a_task_with_a_reviewer_that_cannot_prepare_says_why(
    seedbed: SeedbedCli, repo: Path
) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    seedbed.ok("profile", "add", "coder", "--kind", "command", "--command", "true")
    git(repo, "branch", "seedbed/1-t")  # the task's branch name is taken: preparing fails
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "T", "--reviewer", "coder", "--start"
    ).out.strip()
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert "already exists" in shown["error"]
