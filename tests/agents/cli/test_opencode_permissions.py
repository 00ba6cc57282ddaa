"""A profile's permission rules about Bash reach real OpenCode as its own
`permission.bash` (inline config, over the user's): a deny holds under --auto, an allow
runs, and the user's own config is extended, not replaced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seedbed.agents.cli.opencode import OpenCodeAdapter
from seedbed.agents.process import ProcessSpec
from tests.agents.cli.test_opencode import KEY, opencode_profile, profile, request, run_task
from tests.conftest import SeedbedCli
from tests.model_server import Answer, ModelServer, answer

RULES = ["--permission-rule", "allow:Bash(echo*)", "--permission-rule", "deny:Bash(rm*)"]


def prepared(tmp_path: Path, rules: list[str], env: dict[str, str]) -> ProcessSpec:
    prof = profile(permission_rules=rules)
    return OpenCodeAdapter().prepare(prof, request(tmp_path), "opencode", env, "")


def bash(call_id: str, command: str) -> Answer:
    return answer(
        tool_calls=[(call_id, "bash", {"command": command, "description": "a command"})],
        usage=(1000, 10),
    )


def test_the_bash_rules_join_the_users_inline_permissions(tmp_path: Path) -> None:
    mine = {"permission": {"bash": {"git push*": "deny"}, "edit": "ask"}}
    env = {"PATH": "/bin", "OPENCODE_CONFIG_CONTENT": json.dumps(mine)}
    spec = prepared(tmp_path, ["allow:Bash(echo*)", "ask:Bash(npm*)"], env)
    config = json.loads(spec.env["OPENCODE_CONFIG_CONTENT"])
    assert config["permission"] == {
        "bash": {"git push*": "deny", "echo*": "allow", "npm*": "deny"},
        "edit": "ask",
    }
    # No rule about Bash: the user's config is left as it was, not even rewritten.
    untouched = prepared(tmp_path, ["allow:Write(*)"], env)
    assert untouched.env["OPENCODE_CONFIG_CONTENT"] == json.dumps(mine)


def test_opencode_runs_what_a_rule_allows_and_refuses_what_one_denies(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOCAL_API_KEY", KEY)
    opencode_profile(seedbed, model_server, *RULES)
    model_server.script(
        bash("call_1", "rm -f README.md"),
        bash("call_2", "echo kept > kept.txt"),
        answer("Done.", usage=(1200, 10)),
    )

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    worktree = Path(shown["worktree"])
    assert (worktree / "README.md").exists()
    assert (worktree / "kept.txt").read_text() == "kept\n"
    errors = [e["message"] for e in seedbed.log_events(shown["id"]) if e["kind"] == "error"]
    assert "OpenCode was denied permission for bash: rm -f README.md" in errors
