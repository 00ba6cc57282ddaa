"""Real Claude Code asks Seedbed's `request_permission` (its --permission-prompt-tool)
before a command when its profile has permission rules: a rule allows, a rule refuses,
and what no rule answers goes to the hook that asks the human (nobody yet: refused); the
next model request carries each answer as the call's result, and the log has each
decision."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seedbed.domain.mcp_servers import McpLaunch
from seedbed.domain.models import RunKind, Settings
from seedbed.domain.permissions import Decision
from seedbed.engine.desk import EngineDesk, PermissionAnswer
from seedbed.sandbox.bwrap import sandbox_support
from seedbed.store.settings import save_settings
from seedbed.talkback.tools import offered_tools
from tests.agents.cli.test_claude_code import KEY, claude_profile, prepare, profile, run_task
from tests.conftest import SeedbedCli
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer, anthropic_answer
from tests.talkback.test_ask_user import ended, needs_input, spawn  # noqa: F401
from tests.talkback.test_claude_talks_back import tool_results

RULES = ["--permission-rule", "allow:Bash(echo*)", "--permission-rule", "deny:Bash(rm*)"]


SEEDBED = McpLaunch(name="seedbed", command="/usr/bin/python3", args=["-m", "shim"])
OTHER = McpLaunch(name="docs", url="http://127.0.0.1:9/mcp")


def permission_flags(argv: list[str]) -> list[str]:
    """The permission flags of an argv: from --permission-mode up to the prompt's `--`."""
    start = argv.index("--permission-mode")
    return argv[start : argv.index("--")]


def test_rules_take_bash_off_the_allowed_list_and_send_prompts_to_seedbed(
    tmp_path: Path,
) -> None:
    ruled = profile(permission_rules=["allow:Bash(pytest*)"])
    servers = [SEEDBED, OTHER]
    spec = prepare(tmp_path, ruled, mcp_servers=servers)
    flags = permission_flags(spec.argv)
    assert flags[:4] == [
        "--permission-mode", "default",
        "--permission-prompt-tool", "mcp__seedbed__request_permission",
    ]  # fmt: skip
    assert "Bash" not in " ".join(flags)  # no blanket Bash: the rules answer
    assert flags[flags.index("--allowedTools") + 1] == "mcp__seedbed mcp__docs"
    assert "--mcp-config" in flags
    # The profile's own mode stays; the prompt tool comes with it.
    own = profile(permission_rules=["allow:Bash"], permission_mode="acceptEdits")
    assert permission_flags(prepare(tmp_path, own, mcp_servers=servers).argv)[:2] == [
        "--permission-mode", "acceptEdits",
    ]  # fmt: skip
    # No rules: today's flags; no Seedbed server (nobody to answer): no prompt tool.
    plain = permission_flags(prepare(tmp_path, profile(), mcp_servers=servers).argv)
    assert plain[:4] == ["--permission-mode", "acceptEdits", "--allowedTools", "Bash"]
    assert "--permission-prompt-tool" not in plain
    alone = prepare(tmp_path, ruled, mcp_servers=[OTHER]).argv
    assert "--permission-prompt-tool" not in alone
    # A planner reads, a reviewer too: their read-only flags, rules or not.
    review = prepare(tmp_path, ruled, mcp_servers=servers, kind=RunKind.REVIEW).argv
    assert "--permission-prompt-tool" not in review


def test_a_malformed_rule_is_refused_when_the_profile_is_saved(seedbed: SeedbedCli) -> None:
    failed = seedbed("profile", "add", "cc", "--kind", "claude-code",
                     "--permission-rule", "maybe:Bash")  # fmt: skip
    assert failed.code != 0
    assert "--permission-rule 'maybe:Bash': the answer must be allow, deny or ask" in failed.err
    seedbed.ok("profile", "add", "cc", "--kind", "claude-code", *RULES)
    seedbed.ok("profile", "set", "cc", "--permission-rule", "ask:Bash")
    shown = seedbed.ok("profile", "show", "cc").out
    assert "permission rules: ask:Bash" in shown
    refused = seedbed("profile", "set", "cc", "--permission-rule", "allow:Bash(")
    assert refused.code != 0
    assert "is not a rule" in refused.err


def bash(call_id: str, command: str, tokens: int) -> object:
    return anthropic_answer(
        tool_calls=[(call_id, "Bash", {"command": command})], usage=(tokens, 10)
    )


@pytest.mark.parametrize("sandboxed", [False, True])
def test_claude_code_asks_seedbed_and_the_profile_rules_answer(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    sandboxed: bool,
) -> None:
    if sandboxed and not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    seedbed.ok("key", "set", "anthropic", input=KEY)
    boxed = ["--sandbox", "--network", "model"] if sandboxed else []
    claude_profile(
        seedbed, "--base-url", model_server.url, "--key-name", "anthropic", *RULES, *boxed
    )
    # What no rule answers is asked of the user, here nobody: refused at the bound.
    save_settings(seedbed.data_dir, Settings(question_wait_s=2))
    model_server.script(
        anthropic_answer(
            tool_calls=[("toolu_0", "Write", {"file_path": "notes.txt", "content": "n\n"})],
            usage=(900, 10),
        ),
        bash("toolu_1", "echo allowed > allowed.txt", 1000),
        bash("toolu_2", "rm -f README.md", 1100),
        bash("toolu_3", "echo sneaky; touch unasked.txt", 1200),
        anthropic_answer("Done.", usage=(1300, 10)),
    )

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    worktree = Path(shown["worktree"])
    assert (worktree / "allowed.txt").read_text() == "allowed\n"
    assert (worktree / "notes.txt").read_text() == "n\n"  # an edit inside: allowed
    assert (worktree / "README.md").exists()
    assert not (worktree / "unasked.txt").exists()
    results = tool_results(model_server.posts[-1].body)
    assert results["toolu_2"] == ("Seedbed's rule deny:Bash(rm*) refuses Bash(rm -f README.md)")
    assert "no answer within 2 s" in results["toolu_3"]
    # Claude Code keeps its prompt tool from the model: only it calls the tool.
    offered = json.dumps(model_server.posts[0].body["tools"])
    assert "mcp__seedbed__request_permission" not in offered
    said = [e["message"] for e in seedbed.log_events(shown["id"]) if e["kind"] == "status"]
    assert (
        f"permission: allowed Write({worktree}/notes.txt) by rule allow:Write({worktree}/*)" in said
    )
    assert "permission: allowed Bash(echo allowed > allowed.txt) by rule allow:Bash(echo*)" in said
    assert "permission: denied Bash(rm -f README.md) by rule deny:Bash(rm*)" in said
    assert any(
        line.startswith("permission: denied Bash(echo sneaky; touch unasked.txt) (deny): no answer")
        for line in said
    ), said


def test_a_human_s_allow_for_the_task_and_for_the_profile_become_rules(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The human, outside the machine: the hook's answers, in turn.
    answers = [Decision.ALLOW_TASK, Decision.ALLOW_PROFILE, Decision.ALLOW_ONCE]
    asked: list[str] = []

    async def human(desk: EngineDesk, tool: str, tool_input: dict[str, Any]) -> PermissionAnswer:
        asked.append(tool_input["command"])
        return PermissionAnswer(decision=answers.pop(0))

    monkeypatch.setattr(EngineDesk, "ask_permission", human)
    seedbed.ok("key", "set", "anthropic", input=KEY)
    claude_profile(seedbed, "--base-url", model_server.url, "--key-name", "anthropic", *RULES)
    model_server.script(
        bash("toolu_1", "touch task.txt", 1000),
        bash("toolu_2", "touch task.txt", 1100),  # the task's rule answers
        bash("toolu_3", "mkdir kept", 1200),
        bash("toolu_4", "mkdir once", 1300),
        anthropic_answer("Done.", usage=(1400, 10)),
    )

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert asked == ["touch task.txt", "mkdir kept", "mkdir once"]
    worktree = Path(shown["worktree"])
    assert (worktree / "task.txt").exists() and (worktree / "kept").is_dir()
    said = [e["message"] for e in seedbed.log_events(shown["id"]) if e["kind"] == "status"]
    assert "permission: allowed Bash(touch task.txt) (allow_task)" in said
    assert "permission: allowed Bash(touch task.txt) by rule allow:Bash(touch task.txt)" in said
    assert "permission rule allow:Bash(mkdir kept) saved on profile 'cc'" in said
    assert "permission: allowed Bash(mkdir once) (allow_once)" in said
    rules = seedbed.ok("profile", "show", "cc").out
    assert "permission rules: allow:Bash(echo*) deny:Bash(rm*) allow:Bash(mkdir kept)" in rules


def test_without_rules_the_model_is_not_offered_request_permission(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, file_keyring: FileStore
) -> None:
    seedbed.ok("key", "set", "anthropic", input=KEY)
    claude_profile(seedbed, "--base-url", model_server.url, "--key-name", "anthropic")
    model_server.script(anthropic_answer("Nothing to do.", usage=(1000, 10)))

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    # Claude Code names MCP tools in a list of deferred tools, loaded on demand.
    offered = json.dumps(model_server.posts[0].body)
    assert "mcp__seedbed__report_progress" in offered
    assert "mcp__seedbed__request_permission" not in offered
    assert [t.name for t in offered_tools(False)] == [
        "report_progress", "list_tasks", "task_status", "create_task", "ask_user",
    ]  # fmt: skip
    assert "request_permission" in [t.name for t in offered_tools(True)]


@pytest.mark.parametrize(("button", "allowed"), [("Allow once", True), ("Deny", False)])
def test_the_user_answers_a_permission_no_rule_answers(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    spawn: Callable[..., subprocess.Popen[str]],  # noqa: F811
    button: str,
    allowed: bool,
) -> None:
    """The card asks "Allow Bash(touch asked.txt)?" with the four buttons; the answer
    (here from the command line) decides, and the log says who did."""
    seedbed.ok("key", "set", "anthropic", input=KEY)
    claude_profile(seedbed, "--base-url", model_server.url, "--key-name", "anthropic", *RULES)
    model_server.script(
        bash("toolu_1", "touch asked.txt", 1000), anthropic_answer("Done.", usage=(1100, 10))
    )
    added = seedbed.ok("task", "add", "--project", "demo", "--title", "Touch",
                       "--prompt", "Touch a file.", "--start")  # fmt: skip
    task_id = int(added.out.strip())
    engine = spawn("run", "--until-idle")

    shown = needs_input(seedbed, task_id)
    question = shown["question"]
    assert question["text"] == "Allow Bash(touch asked.txt)?"
    assert question["options"] == [
        "Allow once", "Allow for this task", "Always for this profile", "Deny",
    ]  # fmt: skip
    seedbed.ok("task", "answer", str(task_id), button)
    ended(engine)

    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert (Path(shown["worktree"]) / "asked.txt").exists() is allowed
    log = [e["message"] for e in seedbed.log_events(task_id) if e["kind"] == "status"]
    decision = (
        "allowed Bash(touch asked.txt) (allow_once)"
        if allowed
        else ("denied Bash(touch asked.txt) (deny)")
    )
    assert f"permission: {decision}" in log, log
    if not allowed:
        assert (
            "refused Bash(touch asked.txt)" in tool_results(model_server.posts[-1].body)["toolu_1"]
        )
