"""Real git repositories in tmp_path, isolated from the user's and the system's git config."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

IDENTITY = ("Test User", "test@example.com")
SETUP_IDENTITY = {
    "GIT_AUTHOR_NAME": "Setup",
    "GIT_AUTHOR_EMAIL": "setup@example.com",
    "GIT_COMMITTER_NAME": "Setup",
    "GIT_COMMITTER_EMAIL": "setup@example.com",
}


class Git:
    """Plain subprocess git for arranging and inspecting test repositories."""

    def run(self, cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **(env or {})},
        )
        return result.stdout

    def write(self, path: Path, content: str | bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def commit_file(
        self, repo: Path, name: str, content: str | bytes, message: str = "change"
    ) -> str:
        self.write(repo / name, content)
        self.run(repo, "add", "--", name)
        self.run(repo, "commit", "-q", "-m", message, env=SETUP_IDENTITY)
        return self.head(repo)

    def head(self, repo: Path, rev: str = "HEAD") -> str:
        return self.run(repo, "rev-parse", rev).strip()

    def init(self, path: Path, identity: bool = True) -> Path:
        """main with two commits (README.md, a.txt); the repo's own user unless told not to."""
        path.mkdir(parents=True, exist_ok=True)
        self.run(path, "-c", "init.defaultBranch=main", "init", "-q")
        if identity:
            self.run(path, "config", "user.name", IDENTITY[0])
            self.run(path, "config", "user.email", IDENTITY[1])
        self.commit_file(path, "README.md", "# demo\n", "initial")
        self.commit_file(path, "a.txt", "one\ntwo\nthree\n", "add a")
        return path

    def parents(self, repo: Path, rev: str) -> list[str]:
        return self.run(repo, "rev-list", "--parents", "-n1", rev).split()[1:]

    def message(self, repo: Path, rev: str) -> str:
        """The commit message exactly as stored."""
        raw = self.run(repo, "cat-file", "commit", rev)
        return raw.split("\n\n", 1)[1]

    def snapshot(self, checkout: Path) -> dict[str, object]:
        """Everything a refused merge must leave as it was, down to each file's bytes."""
        files = {
            str(p.relative_to(checkout)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(checkout.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(checkout).parts
        }
        merge_head = self.run(checkout, "rev-parse", "--git-path", "MERGE_HEAD").strip()
        return {
            "status": self.run(checkout, "status", "--porcelain=v1", "--untracked-files=all"),
            "head": self.head(checkout),
            "branch": self.run(checkout, "rev-parse", "--abbrev-ref", "HEAD"),
            "merge_head": (checkout / merge_head).exists(),
            "files": files,
        }


@pytest.fixture
def g() -> Git:
    return Git()


@pytest.fixture
def repo(tmp_path: Path, g: Git) -> Path:
    """A repository with two commits on main (README.md, a.txt) and a configured identity."""
    return g.init(tmp_path / "repo")
