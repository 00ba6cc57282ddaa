"""A sandbox's settings are checked when saved, saying what is wrong: a path that would
show a place the sandbox hides, a relative path, a variable name that is none. A path
saved before that check (or one that covers Seedbed's data dir, known only when a run
starts) ends the run before its agent starts, saying which."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seedbed.sandbox.bwrap import sandbox_support
from seedbed.store import Store
from tests.conftest import SeedbedCli

COMMAND = ("--kind", "command", "--command", "true", "--sandbox")


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("~", "~ is your home ("),
        ("rw:~", "~ is your home ("),
        ("/", "/ is the whole file system: name the directories it needs"),
        ("{users}", "{users} holds your home ({users}/me)"),
        ("cache/pip", "'cache/pip' is not an absolute path (or ~/…)"),
    ],
)
def test_a_profile_path_that_would_show_a_hidden_place_is_refused(
    seedbed: SeedbedCli, entry: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "users"
    (users / "me").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(users / "me"))
    entry, says = entry.format(users=users), says.format(users=users)
    result = seedbed("profile", "add", "boxed", *COMMAND, "--sandbox-path", entry)
    assert result.code != 0
    assert f"--sandbox-path {says}" in result.err, result.err
    assert seedbed.ok("profile", "list", "--json").json() == []


def test_a_path_inside_the_home_and_a_kept_variable_are_taken(seedbed: SeedbedCli) -> None:
    seedbed.ok(
        "profile", "add", "boxed", *COMMAND, "--sandbox-path", "~/.cache/pip",
        "--sandbox-env", "PGPASSWORD",
    )  # fmt: skip
    [profile] = seedbed.ok("profile", "list", "--json").json()
    assert profile["sandbox_paths"] == ["~/.cache/pip"]
    assert profile["sandbox_env"] == ["PGPASSWORD"]


def test_a_variable_name_that_is_none_is_refused(seedbed: SeedbedCli) -> None:
    result = seedbed("profile", "add", "boxed", *COMMAND, "--sandbox-env", "A=B")
    assert result.code != 0
    assert "--sandbox-env 'A=B' is not a variable's name" in result.err


def test_a_project_path_holding_its_main_checkout_is_refused(
    seedbed: SeedbedCli, repo: Path, project: str
) -> None:
    result = seedbed("project", "set", project, "--sandbox-path", str(repo.parent))
    assert result.code != 0
    assert f"holds the project's main checkout ({repo})" in result.err, result.err
    result = seedbed("project", "set", project, "--sandbox-env", "PGPASSWORD")
    assert result.code == 0, result.err
    [saved] = seedbed.ok("project", "list", "--json").json()
    assert saved["sandbox_paths"] == [] and saved["sandbox_env"] == ["PGPASSWORD"]


@pytest.mark.skipif(not sandbox_support().works, reason="no sandbox here")
def test_a_saved_path_over_the_data_dir_ends_the_run_saying_so(
    seedbed: SeedbedCli, data_dir: Path, project: str
) -> None:
    """A path that holds Seedbed's data dir is found when the run starts (bubblewrap
    said only "Can't remount readonly on /newroot/…: Invalid argument")."""
    assert shutil.which("bwrap")
    seedbed.ok("profile", "add", "boxed", *COMMAND)
    store = Store.open(data_dir)  # as an older Seedbed saved it
    profile = store.find_profile("boxed")
    entry = f"rw:{data_dir.parent}"
    store.update_profile(profile.model_copy(update={"sandbox_paths": [entry]}))
    store.close()
    task = seedbed.ok(
        "task", "add", "--project", project, "--title", "t", "--profile", "boxed", "--start"
    ).out.strip()
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(task)
    texts = [str(e.get("message") or "") for e in seedbed.log_events(task)]
    said = (
        f"the agent could not start: the sandbox path {data_dir.parent} holds Seedbed's "
        f"data dir ({data_dir})"
    )
    assert any(text.startswith(said) for text in texts), texts
    assert not any("bwrap:" in text for text in texts), texts
    assert shown["phase"] == "agent_failed"
