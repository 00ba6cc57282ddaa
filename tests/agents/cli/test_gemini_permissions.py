"""A profile's permission rules about Bash reach real Gemini CLI as a policy file of
the run's own (`--policy`): a deny holds under yolo, in a chained command too, what no
rule matches runs; the user's own settings and policies are not written."""

from __future__ import annotations

import json
import random
import re
import tomllib
from pathlib import Path

import pytest

from seedbed.agents.cli.gemini import gemini_policy
from seedbed.domain.permissions import (
    Action,
    decide,
    json_command_regex,
    parse_rules,
    shell_policy_rules,
)
from seedbed.sandbox.bwrap import sandbox_support
from tests.agents.cli.test_gemini import KEY, gemini_answer, gemini_profile, run_task, user_settings
from tests.conftest import SeedbedCli
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer

RULES = ["--permission-rule", "deny:Bash(rm -f*)", "--permission-rule", "ask:Bash(git push*)"]


def gemini_args(command: str) -> str:
    """A call's arguments as Gemini CLI writes them for its policy: sorted keys, each
    top-level pair between NULs."""
    pair = f'"command":{json.dumps(command, ensure_ascii=False)}'
    return "{\0" + pair + '\0,\0"dir_path":"x"\0}'


def matches(glob: str, command: str, deny: bool = True) -> bool:
    """Whether Gemini's regex for `glob` (a deny's, or an allow's) matches a call of
    `command`."""
    regex = '"command":"' + json_command_regex(glob, deny)
    return re.search(regex, gemini_args(command)) is not None


def safe_for_gemini(regex: str) -> bool:
    """Gemini CLI 0.61's guard (isSafeRegExp): no group with a quantifier in it that is
    itself quantified, 2048 characters at most; else the whole policy file is refused."""
    return len(regex) <= 2048 and not re.search(r"\([^)]*[*+?{].*\)[*+?{]", regex)


def test_a_glob_becomes_a_regex_over_the_json_text_of_the_whole_command() -> None:
    assert matches("rm*", "rm -rf /") and not matches("rm*", "echo rm")
    assert matches("git push*", "git push origin main") and not matches("git push", "git pushx")
    assert matches('echo "a"*', 'echo "a" > b')  # quotes, escaped in JSON
    assert matches("ls ?", "ls a") and not matches("ls ?", "ls ab", deny=False)
    assert matches("cat [ab].txt", "cat b.txt", deny=False)
    assert not matches("cat [!ab].txt", "cat a.txt", deny=False)
    assert matches("a.b(c)", "a.b(c)") and not matches("a.b(c)", "aXb(c)")
    assert matches("rm -f*", "rm  -f x") and matches("rm -f*", "rm\t-f x")  # Seedbed's too
    assert not matches("git status", "git  status", deny=False)  # an allow: as written
    assert not matches("rm*x", "rm a") and not matches('*x"', "y")  # no way past its pair
    for glob in ("rm*", "git push*", "a(b)*?", "[ab]*(?)*", "*.txt", "(a*) x", "[!]]?"):
        for deny in (True, False):
            assert safe_for_gemini('"command":"' + json_command_regex(glob, deny)), glob


def test_a_deny_never_denies_less_and_an_allow_never_allows_more_than_seedbeds() -> None:
    """Random globs and commands over the characters where JSON and globs part (quotes,
    backslashes, tabs, runs of spaces, classes, a control character, a non-ASCII one):
    where Seedbed's own reading denies, Gemini's deny regex matches; where Gemini's allow
    regex matches a command as Seedbed reads it (spaces made one), Seedbed allows.
    (An allow may still let through `a  b` for `a * b`, where Seedbed reads `a b`: the
    regex cannot make spaces one; an allow counts only outside yolo, Gemini's default.)"""
    rng = random.Random(18)
    glob_chars = ["a", "b", "t", "1", " ", "  ", "\t", '"', "\\", "*", "?", "[ab]", "[!a]", "[]a]"]
    glob_chars += ["[0-9]", "[\\-a]", "é", "😀"]
    command_chars = ["a", "b", "t", "1", " ", "  ", "\t", '"', "\\", "]", "-", "\x01"]
    command_chars += ["\x08", "\x1b", "é", "!", "😀"]
    checked = 0
    for _ in range(40000):
        glob = "".join(rng.choice(glob_chars) for _ in range(rng.randint(1, 5)))
        command = "".join(rng.choice(command_chars) for _ in range(rng.randint(1, 6)))
        if not command.strip() or not glob.strip():
            continue
        denied = decide(parse_rules([f"deny:Bash({glob})"]), "Bash", {"command": command})
        if denied.action is Action.DENY:
            assert matches(glob, command, deny=True), (glob, command)
            checked += 1
        if command == " ".join(command.split()) and matches(glob, command, deny=False):
            allowed = decide(parse_rules([f"allow:Bash({glob})"]), "Bash", {"command": command})
            assert allowed.action is Action.ALLOW, (glob, command)
            checked += 1
        for deny in (True, False):
            regex = json_command_regex(glob, deny)
            assert safe_for_gemini('"command":"' + regex), glob
    assert checked > 1000  # enough of both kinds to mean something


def test_an_allows_run_never_ends_inside_an_escape() -> None:
    for glob, command in (("*[0-9]", "x\x01"), ("*b", "x\x08"), ("echo *t", "echo a\t")):
        assert not matches(glob, command, deny=False), (glob, command)
    assert matches("echo *t", "echo at", deny=False)
    assert not matches("x[\\-a]", "x-", deny=False)  # a class with a backslash: nothing


def test_a_rule_too_long_for_gemini_denies_by_its_start_and_allows_nothing() -> None:
    wide = "rm " + "😀" * 1100  # short in code points, too long in JavaScript's units
    [(regex, _answer)] = shell_policy_rules([f"deny:Bash({wide})"])
    assert len(regex.encode("utf-16-le")) // 2 <= 2048 - len('"command":"')
    assert re.search('"command":"' + regex, gemini_args(wide))
    long = "rm " + "[ab]" * 400 + "*"
    [(regex, answer)] = shell_policy_rules([f"deny:Bash({long})"])
    assert answer is Action.DENY and len(regex) <= 2048 - len('"command":"')
    assert re.search('"command":"' + regex, gemini_args("rm " + "a" * 400))
    assert shell_policy_rules([f"allow:Bash({long})"]) == []


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
        gemini_answer(calls=[("run_shell_command", {"command": "rm  -f README.md"})]),
        gemini_answer(calls=[("run_shell_command", {"command": "echo a > a.txt && rm -f b"})]),
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
