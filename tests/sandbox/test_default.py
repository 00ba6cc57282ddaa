"""New profiles are sandboxed by default where a sandbox can be made; never where none
can (they would only refuse to run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedbed.core.app_settings import window_start
from seedbed.core.context import Context
from seedbed.sandbox.bwrap import sandbox_support
from tests.conftest import SeedbedCli
from tests.sandbox.test_refusal import no_bwrap  # noqa: F401  (a fixture)


@pytest.fixture
def default_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEEDBED_SANDBOX_DEFAULT")  # as a user has it


@pytest.mark.skipif(not sandbox_support().works, reason="no sandbox here")
def test_a_new_profile_is_sandboxed_where_it_can_be(seedbed: SeedbedCli, default_on: None) -> None:
    seedbed.ok("profile", "add", "boxed", "--kind", "command", "--command", "true")
    seedbed.ok("profile", "add", "bare", "--kind", "command", "--command", "true", "--no-sandbox")
    seedbed.ok("profile", "add", "cc", "--kind", "claude-code")
    profiles = {p["name"]: p for p in seedbed.ok("profile", "list", "--json").json()}
    assert profiles["boxed"]["sandbox"] is True
    assert profiles["bare"]["sandbox"] is False
    assert profiles["cc"]["sandbox"] is True


def test_without_bubblewrap_a_new_profile_is_not_sandboxed(
    seedbed: SeedbedCli,
    default_on: None,
    no_bwrap: None,  # noqa: F811
) -> None:
    seedbed.ok("profile", "add", "plain", "--kind", "command", "--command", "true")
    [profile] = seedbed.ok("profile", "list", "--json").json()
    assert profile["sandbox"] is False


def test_a_window_hears_at_connect_whether_new_profiles_are_sandboxed(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = Context.open(data_dir)
    assert window_start(ctx).sandbox_by_default is False  # the suite's default: off
    monkeypatch.delenv("SEEDBED_SANDBOX_DEFAULT")
    assert window_start(ctx).sandbox_by_default is sandbox_support().works
