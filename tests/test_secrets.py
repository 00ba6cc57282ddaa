"""API keys (issue 3, "Keys"): the keyring, the environment fallback, no plaintext fallback,
and a key value that never shows up where it should not.

Most tests use FileKeyring (tests/keyring_backends.py); those marked "real" run a private
gnome-keyring-daemon on its own D-Bus session bus (tests/secret_service.py).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from seedbed import secrets
from seedbed.domain.errors import UserError
from seedbed.secrets import KeyringUnavailable, ResolvedKey
from tests.conftest import Result, SeedbedCli
from tests.keyring_backends import (
    FAIL_BACKEND,
    LEAKY_BACKEND,
    LOCKED_BACKEND,
    NULL_BACKEND,
    FileStore,
    backend,
)
from tests.secret_service import SecretService, connections_left_open, secret_service_keyring

KEY = "sk-test-Zq7vR2mW9xK4pL1nB8cJ5hT3"  # a made-up key; searched for everywhere below
OTHER_KEY = "sk-ant-test-Yh6gF4dS2aQ9wE7rT5"
ENV_KEY = "sk-env-test-Pm3nB7vC1xZ8lK5jH2"
SECRET_SERVICE = "SecretService Keyring (keyring.backends.SecretService.Keyring)"


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def files_containing(root: Path, needle: str) -> list[Path]:
    data = needle.encode()
    return [p for p in root.rglob("*") if p.is_file() and data in p.read_bytes()]


def exception_texts(exc: BaseException) -> str:
    """Everything an exception can show: str, repr, the traceback with its chain."""
    chained = [exc.__cause__, exc.__context__]
    return "\n".join([str(exc), repr(exc), *traceback.format_exception(exc), *map(repr, chained)])


def assert_one_error_line(result: Result) -> str:
    assert result.code == 2, result
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    assert "Traceback" not in result.err
    return lines[0]


# -- a real Secret Service (gnome-keyring-daemon) ------------------------------------------


def test_round_trip_on_a_real_secret_service(secret_service: SecretService) -> None:
    assert secrets.backend_description() == SECRET_SERVICE
    assert secrets.list_keys() == []
    assert secrets.get_key("openai") is None

    secrets.set_key("openai", KEY)
    secrets.set_key("work-anthropic", OTHER_KEY)
    assert secrets.get_key("openai") == KEY
    assert secrets.list_keys() == ["openai", "work-anthropic"]

    secrets.set_key("openai", OTHER_KEY)  # replaces, not duplicates
    assert secrets.get_key("openai") == OTHER_KEY
    assert secrets.list_keys() == ["openai", "work-anthropic"]

    assert secrets.delete_key("openai") is True
    assert secrets.delete_key("openai") is False
    assert secrets.get_key("openai") is None
    assert secrets.list_keys() == ["work-anthropic"]
    assert secrets.delete_key("work-anthropic") is True
    assert secrets.list_keys() == []


def test_cli_key_set_reads_stdin_and_key_list_names_it_on_a_real_secret_service(
    secret_service: SecretService,
    seedbed: SeedbedCli,
    monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
    isolated_home: Path,
) -> None:
    stdin(monkeypatch, KEY + "\n")
    done = seedbed.ok("key", "set", "openai")
    assert "openai" in done.out and SECRET_SERVICE in done.out
    assert secrets.get_key("openai") == KEY  # the newline is not part of the key

    listed = seedbed.ok("key", "list")
    assert listed.out.splitlines()[0] == "openai"
    assert SECRET_SERVICE in listed.out
    doc = seedbed.ok("key", "list", "--json").json()
    assert doc["keys"] == ["openai"] and doc["backend"] == SECRET_SERVICE

    for result in (done, listed):
        assert KEY not in result.out + result.err
    assert files_containing(data_dir, KEY) == []
    assert files_containing(isolated_home, KEY) == []
    # gnome-keyring keeps it encrypted with the login password
    assert files_containing(secret_service.home, KEY) == []


def test_another_process_sees_the_key_on_a_real_secret_service(
    secret_service: SecretService, seedbed: SeedbedCli
) -> None:
    secrets.set_key("openai", KEY)
    listed = seedbed.spawn("key", "list", "--json")
    out, err = listed.communicate(timeout=60)
    assert listed.returncode == 0, err
    assert json.loads(out)["keys"] == ["openai"]
    assert KEY not in out + err

    stored = seedbed.spawn("key", "set", "anthropic", stdin=subprocess.PIPE)
    out, err = stored.communicate(OTHER_KEY + "\n", timeout=60)
    assert stored.returncode == 0, err
    assert OTHER_KEY not in out + err
    assert secrets.get_key("anthropic") == OTHER_KEY
    found = secrets.resolve_key("anthropic", "anthropic")
    assert found is not None and found.source == "keyring"


def test_a_locked_real_keyring_says_so_and_the_env_variable_still_works(
    secret_service: SecretService, seedbed: SeedbedCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets.set_key("openai", KEY)
    secret_service.lock()  # no prompt can appear here: unlocking fails at once

    with connections_left_open():
        with pytest.raises(KeyringUnavailable) as caught:
            secrets.list_keys()
        message = str(caught.value)
        assert "locked" in message and SECRET_SERVICE in message
        assert "OPENAI_API_KEY" in message and "GNOME Keyring" in message

        monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
        found = secrets.resolve_key("openai", "openai")
        assert found is not None and found.source == "env OPENAI_API_KEY"
        assert found.value.get_secret_value() == ENV_KEY

        line = assert_one_error_line(seedbed("key", "list"))
        assert "locked" in line and KEY not in line
        del caught


def test_a_real_keyring_that_cannot_be_created_says_so(
    tmp_path: Path, seedbed: SeedbedCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No login keyring and no way to show the "choose a password" prompt: dismissed.
    with (
        secret_service_keyring(tmp_path / "service", unlock=False),
        connections_left_open(),
    ):
        with pytest.raises(KeyringUnavailable) as caught:
            secrets.set_key("openai", KEY)
        message = str(caught.value)
        assert SECRET_SERVICE in message and "could not be opened" in message
        assert "ANTHROPIC_API_KEY" in message
        assert KEY not in exception_texts(caught.value)
        del caught

        stdin(monkeypatch, KEY)
        line = assert_one_error_line(seedbed("key", "set", "openai"))
        assert "cannot store the key 'openai'" in line and KEY not in line
        assert secrets.resolve_key("openai", "openai") is None


# -- the environment fallback ------------------------------------------------------------


def test_the_env_variable_is_used_when_the_keyring_has_no_key(
    file_keyring: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert secrets.resolve_key("openai", "openai") is None
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY + "\n")
    found = secrets.resolve_key("openai", "openai")
    assert found == ResolvedKey(value=ENV_KEY, source="env OPENAI_API_KEY")
    # a profile's own key name still falls back to its provider's variable
    found = secrets.resolve_key("work", "openai")
    assert found is not None and found.source == "env OPENAI_API_KEY"
    assert secrets.resolve_key("openai", "anthropic") is None
    monkeypatch.setenv("ANTHROPIC_API_KEY", "  ")  # blank counts as unset
    assert secrets.resolve_key("anthropic", "anthropic") is None


def test_the_keyring_wins_over_the_env_variable(
    file_keyring: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ENV_KEY)
    secrets.set_key("anthropic", KEY)
    found = secrets.resolve_key("anthropic", "anthropic")
    assert found is not None and found.source == "keyring"
    assert found.value.get_secret_value() == KEY


def test_an_unknown_provider_has_no_env_variable(file_keyring: FileStore) -> None:
    assert secrets.resolve_key("local", "ollama") is None
    secrets.set_key("local", KEY)
    found = secrets.resolve_key("local", "ollama")
    assert found is not None and found.source == "keyring"


@pytest.mark.parametrize(
    ("name", "env"),
    [
        (FAIL_BACKEND, {}),
        (NULL_BACKEND, {}),
        (LOCKED_BACKEND, {}),
        ("keyring.backends.SecretService.Keyring", {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/no"}),
        ("no.such.Backend", {}),
    ],
    ids=["no-backend", "null", "locked", "no-dbus", "unloadable"],
)
def test_resolve_key_without_a_working_keyring_uses_the_env_variable(
    name: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with backend(name, **env):
        assert secrets.resolve_key("openai", "openai") is None
        monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
        found = secrets.resolve_key("openai", "openai")
        assert found is not None and found.source == "env OPENAI_API_KEY"
        assert found.value.get_secret_value() == ENV_KEY
        assert secrets.backend_description()  # never raises


# -- no working keyring: a clear error, never a plaintext fallback -------------------------


@pytest.mark.parametrize(
    ("name", "env", "problem"),
    [
        (FAIL_BACKEND, {}, "no keyring backend is available"),
        (NULL_BACKEND, {}, "switched off"),
        (LOCKED_BACKEND, {}, "is locked"),
        (
            "keyring.backends.SecretService.Keyring",
            {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/no"},
            "could not be loaded",
        ),
    ],
    ids=["no-backend", "null", "locked", "no-dbus"],
)
def test_storing_without_a_working_keyring_says_which_backend_and_what_to_do(
    name: str,
    env: dict[str, str],
    problem: str,
    tmp_path: Path,
    isolated_home: Path,
    seedbed: SeedbedCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with backend(name, **env):
        for call in (
            lambda: secrets.set_key("openai", KEY),
            lambda: secrets.get_key("openai"),
            lambda: secrets.delete_key("openai"),
            secrets.list_keys,
        ):
            with pytest.raises(KeyringUnavailable) as caught:
                call()
            message = str(caught.value)
            assert problem in message
            assert name in message  # which backend was found
            assert "OPENAI_API_KEY / ANTHROPIC_API_KEY" in message
            assert "GNOME Keyring or KeePassXC" in message
            assert "\n" not in message
            assert isinstance(caught.value, UserError)
            assert KEY not in exception_texts(caught.value)

        stdin(monkeypatch, KEY + "\n")
        for args in (("key", "set", "openai"), ("key", "list"), ("key", "delete", "openai")):
            result = seedbed(*args)
            line = assert_one_error_line(result)
            assert problem in line and "OPENAI_API_KEY" in line
            assert KEY not in result.out + result.err
    # nothing was written anywhere instead
    assert files_containing(tmp_path, KEY) == []
    assert files_containing(isolated_home, KEY) == []


def test_an_error_that_quotes_the_key_is_scrubbed(seedbed: SeedbedCli) -> None:
    with backend(LEAKY_BACKEND):
        with pytest.raises(KeyringUnavailable) as caught:
            secrets.set_key("openai", KEY)
        assert "PasswordSetError" in str(caught.value) and "***" in str(caught.value)
        assert KEY not in exception_texts(caught.value)
        assert caught.value.__cause__ is None and caught.value.__context__ is None


# -- names and values --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["", "two words", "line\nbreak", "tab\tbed", "x" * 65, "nul\x00", "[key names]", KEY],
    ids=["empty", "space", "newline", "tab", "too-long", "nul", "the-index", "a-key"],
)
def test_invalid_names_are_refused_without_being_repeated(
    name: str, file_keyring: FileStore, seedbed: SeedbedCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    for call in (
        lambda: secrets.set_key(name, "value"),
        lambda: secrets.get_key(name),
        lambda: secrets.delete_key(name),
        lambda: secrets.resolve_key(name, "openai"),
    ):
        with pytest.raises(UserError) as caught:
            call()
        assert not isinstance(caught.value, KeyringUnavailable)
        if name:
            assert name not in str(caught.value)
    stdin(monkeypatch, "value\n")
    if name and "\x00" not in name:  # argv cannot carry a NUL
        line = assert_one_error_line(seedbed("key", "set", name))
        assert name not in line
    assert file_keyring.entries() == {}


def test_valid_names(file_keyring: FileStore) -> None:
    for name in ["openai", "x" * 64, "work.openai_2", "ключ"]:
        secrets.set_key(name, "value")
    assert secrets.list_keys() == sorted(["openai", "x" * 64, "work.openai_2", "ключ"])


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "empty"),
        (KEY + "\n" + KEY, "line break"),
        (KEY + "\r" + KEY, "line break"),
        (KEY + "\x07", "non-printable"),
        (KEY + "\t", "non-printable"),
        (" " + KEY, "whitespace"),
        (KEY + " ", "whitespace"),
        ("k" * 16_385, "longer than"),
    ],
    ids=["empty", "lf", "cr", "bell", "tab", "leading-space", "trailing-space", "too-long"],
)
def test_invalid_values_are_refused_without_being_repeated(
    value: str, problem: str, file_keyring: FileStore
) -> None:
    with pytest.raises(UserError, match=problem) as caught:
        secrets.set_key("openai", value)
    if value:
        assert value.strip() not in exception_texts(caught.value)
    assert file_keyring.entries() == {}


def test_one_trailing_line_break_of_typed_input_is_dropped() -> None:
    assert secrets.value_from_input(KEY + "\n") == KEY
    assert secrets.value_from_input(KEY + "\r\n") == KEY
    assert secrets.value_from_input(KEY) == KEY
    for text in [KEY + "\n\n", KEY + "\n" + KEY + "\n", "\n", ""]:
        with pytest.raises(UserError):
            secrets.value_from_input(text)


# -- the index and list_keys ---------------------------------------------------------------


def test_list_keys_checks_each_name_still_has_a_value(file_keyring: FileStore) -> None:
    secrets.set_key("openai", KEY)
    secrets.set_key("work", OTHER_KEY)
    assert json.loads(file_keyring.entries()[secrets.INDEX_ENTRY]) == ["openai", "work"]
    data = json.loads(file_keyring.path.read_text())
    del data["seedbed"]["work"]  # deleted with another tool (seahorse, `keyring del`)
    data["seedbed"]["anthropic"] = OTHER_KEY  # stored with another tool, not in the index
    file_keyring.path.write_text(json.dumps(data))
    assert secrets.list_keys() == ["anthropic", "openai"]

    data["seedbed"][secrets.INDEX_ENTRY] = "not json"
    file_keyring.path.write_text(json.dumps(data))
    assert secrets.list_keys() == ["anthropic", "openai"]
    secrets.set_key("work", KEY)  # a broken index is rebuilt, not fatal
    assert secrets.list_keys() == ["anthropic", "openai", "work"]


def test_deleting_the_last_key_leaves_nothing_behind(file_keyring: FileStore) -> None:
    secrets.set_key("openai", KEY)
    assert secrets.delete_key("openai") is True
    assert file_keyring.entries() == {}
    assert secrets.delete_key("openai") is False


def test_the_value_is_hidden_in_a_resolved_key(file_keyring: FileStore) -> None:
    secrets.set_key("openai", KEY)
    found = secrets.resolve_key("openai", "openai")
    assert found is not None
    for text in (repr(found), str(found), found.model_dump_json(), repr(found.value)):
        assert KEY not in text
    assert found.value.get_secret_value() == KEY


# -- the CLI ------------------------------------------------------------------------------


def test_cli_set_list_delete_with_a_file_keyring(
    file_keyring: FileStore,
    seedbed: SeedbedCli,
    monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
    isolated_home: Path,
) -> None:
    assert seedbed.ok("key", "list").out.splitlines()[0] == "no keys stored"

    stdin(monkeypatch, KEY + "\r\n")
    outputs = [seedbed.ok("key", "set", "openai")]
    assert file_keyring.entries()["openai"] == KEY

    monkeypatch.setenv("ANTHROPIC_API_KEY", ENV_KEY)
    listed = seedbed.ok("key", "list")
    outputs.append(listed)
    assert listed.out.splitlines() == [
        "openai",
        "backend: keyring backends FileKeyring (tests.keyring_backends.FileKeyring)",
        "environment fallbacks set: ANTHROPIC_API_KEY",
    ]
    doc = seedbed.ok("key", "list", "--json").json()
    assert doc == {
        "keys": ["openai"],
        "backend": "keyring backends FileKeyring (tests.keyring_backends.FileKeyring)",
        "env_fallbacks": ["ANTHROPIC_API_KEY"],
    }

    outputs.append(seedbed.ok("key", "delete", "openai"))
    assert "openai" not in file_keyring.entries()
    missing = seedbed("key", "delete", "openai")
    assert "no key 'openai'" in assert_one_error_line(missing)
    outputs.append(missing)

    for result in outputs:
        assert KEY not in result.out + result.err and ENV_KEY not in result.out + result.err
    assert files_containing(data_dir, KEY) == []
    assert files_containing(isolated_home, KEY) == []


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_key_set_on_a_terminal_prompts_without_echo(
    file_keyring: FileStore, seedbed: SeedbedCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str = "Password: ", stream: object = None) -> str:
        prompts.append(prompt)
        return KEY

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    result = seedbed.ok("key", "set", "openai")
    assert len(prompts) == 1 and "openai" in prompts[0]
    assert file_keyring.entries()["openai"] == KEY
    assert KEY not in result.out + result.err


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "empty"), ("\n", "empty"), (f"{KEY}\n{KEY}\n", "line break")],
    ids=["nothing", "blank-line", "two-lines"],
)
def test_cli_key_set_refuses_bad_input(
    text: str,
    problem: str,
    file_keyring: FileStore,
    seedbed: SeedbedCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stdin(monkeypatch, text)
    result = seedbed("key", "set", "openai")
    assert problem in assert_one_error_line(result)
    assert KEY not in result.out + result.err
    assert file_keyring.entries() == {}


def test_cli_key_needs_an_action(seedbed: SeedbedCli) -> None:
    assert_one_error_line(seedbed("key"))
    assert_one_error_line(seedbed("key", "set"))
