"""`seedbed profile set/remove`: the command line changes and removes agent profiles as
Settings → Agent profiles does, with the same rules."""

from __future__ import annotations

from tests.conftest import SeedbedCli
from tests.test_cli import error_line


def test_profile_set_changes_the_fields_it_names_and_keeps_the_rest(seedbed: SeedbedCli) -> None:
    seedbed.ok(
        "profile", "add", "fixer", "--kind", "command", "--command", "true", "--timeout", "60"
    )

    changed = seedbed.ok(
        "profile", "set", "fixer", "--command", "./agent.sh", "--grace-seconds", "2", "--json"
    ).json()

    assert (changed["command"], changed["timeout"], changed["grace_seconds"]) == (
        "./agent.sh", 60.0, 2.0,
    )  # fmt: skip
    assert seedbed.ok("profile", "list", "--json").json() == [changed]
    builtin = seedbed.ok(
        "profile", "set", "fixer", "--kind", "builtin", "--provider", "openai",
        "--model", "gpt-test", "--context-stop", "0.7", "--rename", "thinker", "--json",
    ).json()  # fmt: skip
    assert (builtin["name"], builtin["kind"], builtin["model"]) == (
        "thinker",
        "builtin",
        "gpt-test",
    )
    assert (builtin["id"], builtin["context_stop"]) == (changed["id"], 0.7)
    assert "--timeout must be a positive" in error_line(
        seedbed("profile", "set", "thinker", "--timeout", "0")
    )
    assert "--context-warn must be a fraction" in error_line(
        seedbed("profile", "set", "thinker", "--context-warn", "3")
    )
    assert "no profile named 'fixer'" in error_line(seedbed("profile", "set", "fixer"))
    assert seedbed.ok("profile", "list", "--json").json() == [builtin]

    seedbed.ok("profile", "add", "claude", "--kind", "claude-code", "--extra-arg", "--verbose")
    flags = ["--extra-arg", "--add-dir", "--extra-arg", "/tmp"]
    assert seedbed.ok("profile", "set", "claude", *flags, "--json").json()["extra_args"] == [
        "--add-dir", "/tmp",
    ]  # fmt: skip
    cleared = seedbed.ok("profile", "set", "claude", "--extra-arg", "", "--json").json()
    assert cleared["extra_args"] == []


def test_profile_remove_is_refused_while_tasks_on_the_board_use_it(
    seedbed: SeedbedCli, project: str
) -> None:
    seedbed.ok("profile", "add", "fixer", "--kind", "command", "--command", "true")
    seedbed.ok("profile", "add", "critic", "--kind", "command", "--command", "true")
    seedbed.ok("project", "set", "demo", "--reviewer", "critic")
    queued = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Q", "--profile", "fixer", "--start"
    ).out.strip()

    assert f"(#{queued})" in error_line(seedbed("profile", "remove", "fixer"))
    assert f"(#{queued})" in error_line(seedbed("profile", "remove", "critic"))  # its reviewer
    seedbed.ok("task", "requeue", queued)
    seedbed.ok("task", "discard", queued)

    assert seedbed.ok("profile", "remove", "critic").out == "profile critic removed\n"
    assert seedbed.ok("project", "list", "--json").json()[0]["reviewer_profile_id"] is None
    assert [p["name"] for p in seedbed.ok("profile", "list", "--json").json()] == ["fixer"]
    assert "no profile named 'critic'" in error_line(seedbed("profile", "remove", "critic"))
