"""Checking profiles and project settings for the user: one set of rules for the CLI and
the settings dialog (core.setup.check_profile, update_profile, update_project_settings)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seedbed.core.context import Context
from seedbed.core.setup import (
    InvalidField,
    add_profile,
    check_profile,
    update_profile,
    update_project_settings,
)
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentKind, ProviderKind
from seedbed.store import Store
from tests.conftest import SeedbedCli


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    store = Store.open(data_dir)
    yield store
    store.close()


@pytest.mark.parametrize(
    ("name", "kind", "options", "field", "message"),
    [
        ("  ", AgentKind.COMMAND, {"command": "x"}, "name", "name is empty"),
        ("p", AgentKind.COMMAND, {}, "command", "needs --command"),
        ("p", AgentKind.COMMAND, {"command": "x", "timeout": 0}, "timeout", "positive"),
        ("p", AgentKind.BUILTIN, {"model": "m"}, "provider", "needs --provider"),
        ("p", AgentKind.BUILTIN, {"provider": "openai"}, "model", "needs --model"),
        ("p", AgentKind.BUILTIN, {"max_turns": 0}, "max_turns", "--max-turns must be at least 1"),
        ("p", AgentKind.AIDER, {"price_in": -1}, "price_in", "must be 0 or more"),
        ("p", AgentKind.CODEX, {"idle_timeout": -1}, "idle_timeout", "must be 0 or more"),
        ("p", AgentKind.BUILTIN, {"context_stop": 1.5}, "context_stop", "fraction"),
        ("p", AgentKind.CODEX, {"key_name": "has space"}, "key_name", "without spaces"),
        ("p", AgentKind.CODEX, {"base_url": "example.com"}, "base_url", "http://"),
        ("p", AgentKind.CODEX, {"binary": 3}, "binary", "invalid profile"),
    ],
)
def test_check_profile_names_the_field_at_fault(
    name: str, kind: AgentKind, options: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidField, match=message) as caught:
        check_profile(name, kind, **options)
    assert caught.value.field == field
    assert isinstance(caught.value, UserError)  # the CLI's exit code 2


def test_check_profile_returns_the_profile_and_stores_nothing(store: Store) -> None:
    profile = check_profile(
        " fast ", AgentKind.BUILTIN, provider=ProviderKind.OPENAI, model="m", timeout=None
    )
    assert (profile.name, profile.id, profile.provider) == ("fast", 0, ProviderKind.OPENAI)
    assert store.list_profiles() == []


def test_profile_add_on_the_cli_uses_the_same_rules(seedbed: SeedbedCli) -> None:
    result = seedbed("profile", "add", "b", "--kind", "builtin", "--provider", "openai")
    assert result.code == 2 and "needs --model" in result.err
    result = seedbed("profile", "add", "c", "--kind", "codex", "--base-url", "example.com")
    assert result.code == 2 and "--base-url must start with" in result.err
    assert seedbed.ok("profile", "list", "--json").json() == []


def test_update_profile_replaces_every_field(store: Store) -> None:
    first = add_profile(
        Context(store), "w", AgentKind.COMMAND, {"command": "true", "timeout": 5.0}
    ).value
    other = add_profile(Context(store), "other", AgentKind.COMMAND, {"command": "true"}).value
    updated = update_profile(
        Context(store), first.id, "worker", AgentKind.CODEX, {"model": "gpt-x"}
    ).value
    assert updated.id == first.id
    stored = store.get_profile(first.id)
    assert (stored.name, stored.kind, stored.model) == ("worker", AgentKind.CODEX, "gpt-x")
    assert (stored.command, stored.timeout) == ("", None)  # left out: the defaults

    with pytest.raises(UserError, match="already exists"):
        update_profile(Context(store), first.id, "other", AgentKind.CODEX)
    with pytest.raises(InvalidField, match="needs --command"):
        update_profile(Context(store), other.id, "other", AgentKind.COMMAND)
    with pytest.raises(UserError, match="no profile with id 99"):
        update_profile(Context(store), 99, "x", AgentKind.CODEX)
    assert store.get_profile(other.id) == other


def test_update_project_settings_checks_before_saving(
    store: Store, seedbed: SeedbedCli, project: str
) -> None:
    before = store.find_project(project)
    for changes, field in [
        ({"diff_budget": -1}, "diff_budget"),
        ({"check_timeout": 0}, "check_timeout"),
        ({"check_command": "make\0test"}, "check_command"),
        ({"copy_globs": [".env", "a\0b"]}, "copy_globs"),
    ]:
        with pytest.raises(InvalidField) as caught:
            update_project_settings(Context(store), before.model_copy(update=changes))
        assert caught.value.field == field
    assert store.find_project(project) == before

    wanted = before.model_copy(
        update={"setup_command": "make setup", "copy_globs": [".env"], "diff_budget": 300}
    )
    update_project_settings(Context(store), wanted)
    assert store.find_project(project) == wanted


def test_at_most_four_tasks_are_pinned_to_the_foreground(seedbed: SeedbedCli, project: str) -> None:
    """The window tiles four live logs; a fifth pin is refused on every path."""
    ids = [
        seedbed.ok(
            "task", "add", "--project", project, "--title", f"T{i}", "--foreground"
        ).out.strip()
        for i in range(4)
    ]
    refused = seedbed("task", "add", "--project", project, "--title", "Fifth", "--foreground")
    assert refused.code == 2 and "unpin one first" in refused.err
    fifth = seedbed.ok("task", "add", "--project", project, "--title", "Fifth").out.strip()
    assert "unpin one first" in seedbed("task", "pin", fifth).err
    seedbed.ok("task", "pin", ids[0], "--off")
    seedbed.ok("task", "pin", fifth)
    assert [t["foreground"] for t in seedbed.ok("task", "list", "--json").json()] == [
        False, True, True, True, True,
    ]  # fmt: skip


def test_a_task_with_no_agent_named_gets_the_first_that_can_run(
    seedbed: SeedbedCli, project: str
) -> None:
    # A builtin agent without its key (no keyring works in tests), a CLI not installed.
    seedbed.ok("profile", "add", "keyless", "--kind", "builtin", "--provider", "openai",
               "--model", "m")  # fmt: skip
    seedbed.ok("profile", "add", "gone", "--kind", "codex", "--binary", "/nonexistent/codex")

    def add_task(title: str) -> int:
        shown = seedbed.ok("task", "add", "--project", project, "--title", title, "--json")
        return int(shown.json()["id"])

    none_runs = add_task("t")  # none can run: the first, whose run will say what it lacks
    seedbed.ok("profile", "add", "script", "--kind", "command", "--command", "true")
    one_runs = add_task("u")
    store = Store.open(seedbed.data_dir)
    try:
        assert store.get_task(none_runs).profile_id == store.find_profile("keyless").id
        assert store.get_task(one_runs).profile_id == store.find_profile("script").id
    finally:
        store.close()
