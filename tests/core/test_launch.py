"""Opening a worktree with the user's command: argv built without a shell, and a real
tiny "editor" that records the arguments it was given."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from seedbed.core.launch import launch, launch_argv
from seedbed.domain.errors import UserError

TRICKY = 'my work/it\'s "quoted" $HOME; rm -rf x'


@pytest.fixture
def editor(tmp_path: Path) -> tuple[Path, Path]:
    """An executable script that writes its argv and working directory as JSON."""
    out = tmp_path / "argv.json"
    script = tmp_path / "bin dir" / "fake editor"
    script.parent.mkdir()
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"open({str(out)!r}, 'w').write(json.dumps([sys.argv[1:], os.getcwd()]))\n"
    )
    script.chmod(0o755)
    return script, out


def wait_for(path: Path) -> list:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return json.loads(path.read_text())
        time.sleep(0.02)
    raise AssertionError(f"{path} was never written")


def test_the_path_replaces_the_placeholder_in_every_argument() -> None:
    path = Path("/w/a b")
    assert launch_argv("code {path}", path) == ["code", "/w/a b"]
    assert launch_argv("term --working-directory={path}", path) == [
        "term",
        "--working-directory=/w/a b",
    ]
    assert launch_argv("'my editor' -n {path} --goto {path}/x", path) == [
        "my editor", "-n", "/w/a b", "--goto", "/w/a b/x",
    ]  # fmt: skip


def test_with_no_placeholder_the_path_comes_last() -> None:
    assert launch_argv("xdg-open", Path("/w/x")) == ["xdg-open", "/w/x"]
    assert launch_argv("gvim --remote-tab", Path("/w/x")) == ["gvim", "--remote-tab", "/w/x"]


def test_a_path_never_becomes_shell_syntax() -> None:
    path = Path("/tmp") / TRICKY
    assert launch_argv("code {path}", path) == ["code", str(path)]


@pytest.mark.parametrize("template", ["", "   ", "code 'unbalanced {path}"])
def test_an_empty_or_unbalanced_template_is_refused(template: str) -> None:
    with pytest.raises(UserError):
        launch_argv(template, Path("/w"))


def test_launch_runs_the_program_with_the_path(tmp_path: Path, editor: tuple[Path, Path]) -> None:
    script, out = editor
    worktree = tmp_path / TRICKY
    worktree.mkdir(parents=True)
    launch(f"{json.dumps(str(script))} --new-window {{path}}", worktree)
    argv, cwd = wait_for(out)
    assert argv == ["--new-window", str(worktree)]
    assert Path(cwd) == worktree


def test_launch_appends_the_path_without_a_placeholder(
    tmp_path: Path, editor: tuple[Path, Path]
) -> None:
    script, out = editor
    worktree = tmp_path / "a b"
    worktree.mkdir()
    launch(json.dumps(str(script)), worktree)
    assert wait_for(out)[0] == [str(worktree)]


def test_a_missing_program_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        launch("no-such-editor-anywhere {path}", tmp_path)
