"""A profile's permission rules about Bash reach real Gemini CLI as a policy file of
the run's own (`--policy`): a deny holds under yolo, in a chained command too, what no
rule matches runs; the user's own settings and policies are not written."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from seedbed.agents.cli.gemini import gemini_policy
from seedbed.domain.permissions import json_command_regex
from seedbed.sandbox.bwrap import sandbox_support
from tests.agents.cli.test_gemini import KEY, gemini_answer, gemini_profile, run_task, user_settings
from tests.conftest import SeedbedCli
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer

RULES = ["--permission-rule", "deny:Bash(rm*)", "--permission-rule", "ask:Bash(git push*)"]


def matches(glob: str, command: str) -> bool:
    """Whether Gemini's regex for `glob` matches a call of `command`, its arguments as
    Gemini writes them (sorted keys, each top-level pair between NULs)."""
    regex = '"command":"' + json_command_regex(glob)
    args = "{" + f'\0"command":{json.dumps(command)}\0,\0"dir_path":"x"\0' + "}"
    return re.search(regex, args) is not None


def safe_for_gemini(regex: str) -> bool:
    """Gemini CLI 0.61's guard (isSafeRegExp): no group with a quantifier in it that is
    itself quantified, 2048 characters at most; else the whole policy file is refused."""
    return len(regex) <= 2048 and not re.search(r"\([^)]*[*+?{].*\)[*+?{]", regex)


def test_a_glob_becomes_a_regex_over_the_json_text_of_the_whole_command() -> None:
    assert matches("rm*", "rm -rf /") and not matches("rm*", "echo rm")
    assert matches("git push*", "git push origin main") and not matches("git push", "git pushx")
    assert matches('echo "a"*', 'echo "a" > b')  # quotes, escaped in JSON
    assert matches("ls ?", "ls a") and not matches("ls ?", "ls ab")
    assert matches("cat [ab].txt", "cat b.txt") and not matches("cat [!ab].txt", "cat a.txt")
    assert matches("a.b(c)", "a.b(c)") and not matches("a.b(c)", "aXb(c)")
    assert matches("echo ?", 'echo "') and matches("*x", "a\nx")  # escaped in JSON
    assert not matches("rm*x", "rm a") and not matches('*x"', "y")  # no way past its pair
    for glob in ("rm*", "git push*", "a(b)*?", "[ab]*(?)*", "*.txt"):
        assert safe_for_gemini('"command":"' + json_command_regex(glob)), glob


def test_the_policy_is_toml_with_denies_above_allows_and_asks_refused() -> None:
    policy = tomllib.loads(gemini_policy(["allow:Bash(echo*)", "ask:Bash", "deny:Write(*)"]))

    assert [(r["toolName"], r["decision"], r["priority"]) for r in policy["rule"]] == [
        ("run_shell_command", "allow", 100),
        ("run_shell_command", "deny", 900),
    ]
    assert gemini_policy(["allow:Write(*)"]) == ""  # nothing about Bash: no file


@pytest.mark.parametrize("sandboxed", [False, True])
def test_gemini_refuses_what_a_rule_denies_and_runs_the_rest(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    isolated_home: Path,
    sandboxed: bool,
) -> None:
    if sandboxed and not sandbox_support().works:
        pytest.skip(f"no sandbox here: {sandbox_support().problem}")
    user_settings(isolated_home)
    seedbed.ok("key", "set", "gemini", input=KEY)
    boxed = ["--sandbox", "--network", "model"] if sandboxed else ["--no-sandbox"]
    gemini_profile(seedbed, "--base-url", model_server.url, "--key-name", "gemini", *RULES, *boxed)
    model_server.script(
        gemini_answer(calls=[("run_shell_command", {"command": "rm -f README.md"})]),
        gemini_answer(calls=[("run_shell_command", {"command": "echo a > a.txt && rm b"})]),
        gemini_answer(calls=[("run_shell_command", {"command": "echo kept > kept.txt"})]),
        gemini_answer(["Done."]),
    )

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    worktree = Path(shown["worktree"])
    assert (worktree / "README.md").exists()
    assert not (worktree / "a.txt").exists()  # one part of the chain denied: none of it ran
    assert (worktree / "kept.txt").read_text() == "kept\n"
    results = [e for e in seedbed.log_events(shown["id"]) if e["kind"] == "tool_result"]
    assert [r["is_error"] for r in results] == [True, True, False]
    assert not (isolated_home / ".gemini" / "policies").exists()  # the user's own: untouched
