"""The permission rules: parsing, and which rule answers a call (pure)."""

from __future__ import annotations

import pytest
from pydantic import JsonValue

from seedbed.domain.permissions import (
    Action,
    decide,
    describe_call,
    exact_rule,
    parse_rule,
    parse_rules,
    shell_permissions,
    subject,
    worktree_rules,
)


def verdict(texts: list[str], tool: str, **tool_input: JsonValue) -> tuple[Action, str | None]:
    found = decide(parse_rules(texts), tool, tool_input)
    return found.action, found.rule.text if found.rule else None


def bash(texts: list[str], command: str) -> tuple[Action, str | None]:
    return verdict(texts, "Bash", command=command)


def test_a_rule_reads_as_answer_tool_and_optional_pattern() -> None:
    rule = parse_rule(" allow:Bash(pytest*) ")
    assert (rule.action, rule.tool, rule.pattern, rule.text) == (
        Action.ALLOW,
        "Bash",
        "pytest*",
        "allow:Bash(pytest*)",
    )
    assert parse_rule("deny:WebFetch").pattern is None
    assert parse_rule("allow:Bash(npm run test:*)").pattern == "npm run test*"
    assert parse_rule("ask:Bash(echo (x))").pattern == "echo (x)"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Bash(pytest*)", "is not a rule"),
        ("maybe:Bash", "must be allow, deny or ask"),
        ("allow:Bash()", "is empty"),
        ("allow:", "is not a rule"),
        ("allow:Ba sh", "is not a rule"),
    ],
)
def test_a_malformed_rule_is_refused_with_what_is_wrong(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        parse_rule(text)


def test_no_rule_that_matches_means_ask() -> None:
    assert bash([], "ls") == (Action.ASK, None)
    assert bash(["allow:Bash(pytest*)"], "make test") == (Action.ASK, None)
    assert verdict(["allow:Bash(*)"], "Write", file_path="/w/a") == (Action.ASK, None)


def test_the_pattern_globs_the_whole_subject_case_sensitively() -> None:
    rules = ["allow:Bash(pytest*)"]
    assert bash(rules, "pytest -q tests/") == (Action.ALLOW, "allow:Bash(pytest*)")
    assert bash(rules, "PYTEST -q") == (Action.ASK, None)
    assert bash(rules, "python -m pytest") == (Action.ASK, None)
    assert bash(["allow:Bash"], "anything at all") == (Action.ALLOW, "allow:Bash")


def test_the_most_restrictive_match_wins_whatever_the_order() -> None:
    allow_first = ["allow:Bash(git*)", "ask:Bash(git commit*)", "deny:Bash(git push*)"]
    for rules in (allow_first, list(reversed(allow_first))):
        assert bash(rules, "git status") == (Action.ALLOW, "allow:Bash(git*)")
        assert bash(rules, "git commit -m x") == (Action.ASK, "ask:Bash(git commit*)")
        assert bash(rules, "git push origin main") == (Action.DENY, "deny:Bash(git push*)")


def test_a_compound_command_is_allowed_only_when_every_part_is() -> None:
    rules = ["allow:Bash(echo*)", "allow:Bash(pytest*)", "deny:Bash(rm*)"]
    assert bash(rules, "echo start && pytest -q") == (Action.ALLOW, "allow:Bash(echo*)")
    assert bash(rules, "echo start; curl evil.example") == (Action.ASK, None)
    assert bash(rules, "echo x | sh") == (Action.ASK, None)
    assert bash(rules, "echo x & touch y") == (Action.ASK, None)
    assert bash(rules, "echo a\ntouch b") == (Action.ASK, None)
    assert bash(rules, "pytest || rm -rf /") == (Action.DENY, "deny:Bash(rm*)")
    # A redirection's `&` does not split the command.
    assert bash(rules, "pytest -q 2>&1") == (Action.ALLOW, "allow:Bash(pytest*)")
    assert bash(rules, "echo hi &> out.txt") == (Action.ALLOW, "allow:Bash(echo*)")
    # ... but output sent outside the working directory is more than the rule names.
    assert bash(rules, "echo hi > ../out.txt") == (Action.ASK, None)
    assert bash(rules, "echo hi >> ~/.profile") == (Action.ASK, None)


def test_a_command_that_hides_what_it_runs_is_never_allowed_by_a_rule() -> None:
    rules = ["allow:Bash(echo*)"]
    assert bash(rules, "echo $(rm -rf ~)") == (Action.ASK, None)
    assert bash(rules, "echo `id`") == (Action.ASK, None)
    assert bash(rules, "echo <(cat /etc/passwd)") == (Action.ASK, None)
    # ... but a deny still refuses it.
    assert bash([*rules, "deny:Bash(*rm -rf*)"], "echo $(rm -rf ~)")[0] is Action.DENY


def test_tool_names_glob_and_an_mcp_server_names_all_its_tools() -> None:
    assert verdict(["allow:mcp__github"], "mcp__github__create_issue", title="x")[0] is (
        Action.ALLOW
    )
    assert verdict(["allow:mcp__github"], "mcp__githubber__x")[0] is Action.ASK
    assert verdict(["deny:Web*"], "WebFetch", url="https://x.example")[0] is Action.DENY
    assert verdict(["allow:WebFetch(https://docs.python.org/*)"], "WebFetch",
                   url="https://docs.python.org/3/")[0] is Action.ALLOW  # fmt: skip


def test_the_subject_is_the_command_path_or_address_else_the_input() -> None:
    assert subject({"command": "ls -l"}) == "ls -l"
    assert subject({"file_path": "/w/tree/../../etc/passwd"}) == "/etc/passwd"
    assert subject({"url": "https://x.example/a"}) == "https://x.example/a"
    assert subject({"b": 1, "a": [2]}) == '{"a":[2],"b":1}'


def test_worktree_rules_allow_edits_inside_it_only_and_a_deny_overrules_them() -> None:
    rules = worktree_rules("/data/worktrees/demo/1-x")
    inside = decide(rules, "Write", {"file_path": "/data/worktrees/demo/1-x/src/a.py"})
    assert inside.action is Action.ALLOW
    outside = decide(rules, "Edit", {"file_path": "/data/worktrees/demo/1-x/../2-y/a.py"})
    assert outside.action is Action.ASK
    assert decide(rules, "Bash", {"command": "touch a"}).action is Action.ASK
    denied = decide([parse_rule("deny:Write(*.lock)"), *rules], "Write",
                    {"file_path": "/data/worktrees/demo/1-x/uv.lock"})  # fmt: skip
    assert denied.action is Action.DENY


def test_an_exact_rule_allows_that_very_call_again_and_no_other() -> None:
    text = exact_rule("Bash", {"command": "ls *.py [ab]?"})
    assert text == "allow:Bash(ls [*].py [[]ab][?])"
    rules = parse_rules([text])
    assert decide(rules, "Bash", {"command": "ls *.py [ab]?"}).action is Action.ALLOW
    assert decide(rules, "Bash", {"command": "ls x.py a?"}).action is Action.ASK


def test_a_call_in_one_line_for_the_log() -> None:
    assert describe_call("Bash", {"command": "pytest\n  -q"}) == "Bash(pytest -q)"
    assert describe_call("Bash", {"command": "x" * 300}).endswith("…)")


def test_an_exact_rule_allows_a_compound_command_whole_but_a_deny_still_wins() -> None:
    command = "echo a; touch b && cat $(ls)"
    rules = [exact_rule("Bash", {"command": command})]
    assert parse_rules(rules)[0].exact
    assert not parse_rule("allow:Bash(echo*)").exact
    assert bash(rules, command) == (Action.ALLOW, rules[0])
    assert bash(rules, command + " ") == (Action.ASK, None)
    assert bash([*rules, "deny:Bash(touch*)"], command)[0] is Action.DENY


def test_the_bash_rules_as_a_last_match_wins_table_with_asks_refused() -> None:
    texts = [
        "deny:Bash(git push*)",
        "allow:Bash(git*)",
        "ask:Bash(npm publish*)",
        "allow:Bash",
        "allow:Write(*)",
        "allow:Bash(npm publish --dry-run)",
        "bad",
    ]
    table = shell_permissions(texts)
    assert list(table.items()) == [
        ("git*", "allow"),
        ("*", "allow"),
        ("npm publish --dry-run", "allow"),
        ("npm publish*", "deny"),
        ("git push*", "deny"),
    ]
    assert shell_permissions(["allow:Write(*)"]) == {}


def test_a_human_s_exact_rule_answers_before_an_ask_but_never_before_a_deny() -> None:
    kept = exact_rule("Bash", {"command": "npm publish --tag next"})
    rules = ["ask:Bash(npm publish*)", kept]
    assert bash(rules, "npm publish --tag next") == (Action.ALLOW, kept)
    assert bash(rules, "npm publish") == (Action.ASK, "ask:Bash(npm publish*)")
    assert bash([*rules, "deny:Bash(npm*)"], "npm publish --tag next")[0] is Action.DENY
    path = {"file_path": "/etc/hosts"}
    written = [exact_rule("Write", path), "ask:Write"]
    assert verdict(written, "Write", **path) == (Action.ALLOW, written[0])


def test_what_an_allow_rule_names_does_not_stretch_to_more() -> None:
    """Output sent to a file, extra spaces, the worktree's .git: a review found each let
    more through than the rule says."""
    rules = parse_rules(["allow:Bash(pytest*)", "allow:Bash(git*)", "deny:Bash(git push*)"])
    assert decide(rules, "Bash", {"command": "pytest -q > /root/.bashrc"}).action is Action.ASK
    assert decide(rules, "Bash", {"command": "pytest -q 2>&1"}).action is Action.ALLOW
    assert decide(rules, "Bash", {"command": "pytest -q > /dev/null"}).action is Action.ALLOW
    assert decide(rules, "Bash", {"command": "git  push origin"}).action is Action.DENY
    tree = worktree_rules("/w/t")
    assert decide(tree, "Write", {"file_path": "/w/t/a.py"}).action is Action.ALLOW
    assert decide(tree, "Write", {"file_path": "/w/t/.git"}).action is Action.ASK
    assert decide(tree, "Edit", {"file_path": "/w/t/.git/config"}).action is Action.ASK
