"""The repository's shared config as a sandbox sees it: credentials cut, the rest kept
(git inside still reads its format, its remotes, the user's settings)."""

from __future__ import annotations

from pathlib import Path

from seedbed.sandbox.gitconfig import HIDDEN, sandbox_copy, without_credentials
from tests.conftest import git, make_repo

CONFIG = """[core]
\trepositoryformatversion = 0
[remote "origin"]
\turl = https://x-access-token:ghp_SECRET@github.com/o/r.git
\tfetch = +refs/heads/*:refs/remotes/origin/*
[http "https://github.com/"]
\textraHeader = AUTHORIZATION: basic SECRET2
[credential]
\thelper = store
[credential "https://example.com"]
\tusername = me
[url "https://tok:SECRET3@github.com/"]
\tinsteadOf = https://github.com/
[user]
\tname = Me
"""


def test_credentials_are_cut_and_the_rest_is_kept() -> None:
    safe = without_credentials(CONFIG)
    assert "SECRET" not in safe and "helper" not in safe and "username" not in safe
    assert "\turl = https://github.com/o/r.git" in safe
    assert '[url "https://github.com/"]' in safe
    assert "repositoryformatversion = 0" in safe and "name = Me" in safe
    assert HIDDEN in safe


def test_the_copy_is_a_config_git_reads(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "remote", "add", "origin", "https://me:ghp_SECRET@github.com/o/r")
    copy = sandbox_copy(repo / ".git", tmp_path / "copies")
    assert copy is not None and "ghp_SECRET" not in copy.read_text()
    said = git(repo, "config", "--file", str(copy), "remote.origin.url").strip()
    assert said == "https://github.com/o/r"
