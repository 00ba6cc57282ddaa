"""Which AgentProfile fields each agent kind uses: declared once, on the model."""

from __future__ import annotations

import pytest

from seedbed.domain.models import CLI_KINDS, AgentKind, AgentProfile, profile_fields

BUILTIN_ONLY = {
    "provider",
    "max_turns",
    "max_tries",
    "context_warn",
    "context_stop",
    "token_budget",
    "read_timeout",
    "max_call_seconds",
}
CLI_ONLY = {"binary", "extra_args", "idle_timeout"}
ACCOUNTING = {"context_window", "price_in", "price_out", "max_output_tokens"}


def test_every_field_but_the_id_names_the_kinds_that_use_it() -> None:
    for name, info in AgentProfile.model_fields.items():
        extra = info.json_schema_extra
        kinds = extra.get("kinds") if isinstance(extra, dict) else None
        if name == "id":
            assert kinds is None
            continue
        assert isinstance(kinds, list) and kinds, f"{name} declares no kinds"
        assert set(kinds) <= {kind.value for kind in AgentKind}, name
        assert info.description, f"{name} has no description"


@pytest.mark.parametrize("kind", list(AgentKind))
def test_name_and_kind_come_first_then_declaration_order(kind: AgentKind) -> None:
    fields = profile_fields(kind)
    assert fields[:2] == ["name", "kind"]
    declared = list(AgentProfile.model_fields)
    assert fields == sorted(fields, key=declared.index)
    assert "id" not in fields


def test_a_command_agent_shows_its_command_and_limits() -> None:
    assert profile_fields(AgentKind.COMMAND) == [
        "name",
        "kind",
        "command",
        "timeout",
        "grace_seconds",
        "key_name",  # the one key it gets, if any: none unasked
        "sandbox",  # and what it may touch and reach
        "network",
        "allowed_hosts",
        "sandbox_paths",
        "sandbox_env",
    ]


def test_the_builtin_agent_shows_its_model_settings_but_no_process_settings() -> None:
    fields = set(profile_fields(AgentKind.BUILTIN))
    assert {"provider", "model", "base_url", "key_name", "context_window"} <= fields
    assert fields >= BUILTIN_ONLY | ACCOUNTING
    # The loop runs no process of its own: no timeout, grace or binary applies to it.
    assert not fields & ({"command", "timeout", "grace_seconds"} | CLI_ONLY)
    assert "permission_mode" not in fields


def test_claude_code_shows_the_cli_settings() -> None:
    fields = profile_fields(AgentKind.CLAUDE_CODE)
    for name in ("model", "binary", "permission_mode", "extra_args", "idle_timeout"):
        assert name in fields
    assert "provider" not in fields and "command" not in fields
    assert not set(fields) & (BUILTIN_ONLY | ACCOUNTING)


@pytest.mark.parametrize("kind", CLI_KINDS)
def test_every_cli_shows_what_the_cli_adapter_reads(kind: AgentKind) -> None:
    fields = set(profile_fields(kind))
    # agents/cli/adapter.py: binary, idle and run timeouts, grace; agents/keys.py: key_name.
    assert {
        "timeout",
        "grace_seconds",
        "model",
        "base_url",
        "key_name",
        "max_event_bytes",
    } | CLI_ONLY <= fields
    assert not fields & BUILTIN_ONLY
    assert "command" not in fields


def test_aider_has_no_permission_modes_but_takes_model_metadata() -> None:
    fields = set(profile_fields(AgentKind.AIDER))
    # aider.py refuses a permission mode, and writes the accounting fields into the
    # model metadata it gives litellm.
    assert "permission_mode" not in fields
    assert fields >= ACCOUNTING
    for kind in set(CLI_KINDS) - {AgentKind.AIDER}:
        assert not set(profile_fields(kind)) & ACCOUNTING, kind


def test_every_field_is_used_by_some_kind() -> None:
    shown = {name for kind in AgentKind for name in profile_fields(kind)}
    assert shown == set(AgentProfile.model_fields) - {"id"}
