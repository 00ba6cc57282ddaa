"""Slugs from user titles: always a safe ref component and directory name."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from seedbed.domain.slug import MAX_SLUG, free_name, one_line, slugify, task_branch, task_dir_name

SAFE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

TITLES = [
    'Fix the "login" bug',
    "Don't break 'quotes'",
    "first line\nsecond line\r\nthird\tcolumn",
    "Ünïcödé façade — naïve café",
    "$(rm -rf /)",
    "`reboot`; rm -rf ~ && echo pwned | sh",
    "--help",
    "-leading and trailing-",
    "../../etc/passwd",
    "refs/heads/main",
    "@{-1}",
    "HEAD",
    "branch.lock",
    "a..b~1^2:c?d*e[f]\\g",
    "nul\0byte",
    "修复登录错误",
    "Ⅻ ﬁle",
    "x" * 39 + " yz",
    "word " * 30,
    "",
    "   \n\t ",
    "🚀🔥✨",
    "!!!",
]


@pytest.mark.parametrize("title", TITLES)
def test_slug_is_safe(title: str) -> None:
    slug = slugify(title)
    assert SAFE.fullmatch(slug), slug
    assert len(slug) <= MAX_SLUG == 40
    dir_name = task_dir_name(12, title)
    assert dir_name == f"12-{slug}"
    assert "/" not in dir_name and not dir_name.startswith((".", "-"))


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ('Fix the "login" bug', "fix-the-login-bug"),
        ("first line\nsecond line", "first-line-second-line"),
        ("Ünïcödé façade — naïve café", "unicode-facade-naive-cafe"),
        ("$(rm -rf /)", "rm-rf"),
        ("--help", "help"),
        ("../../etc/passwd", "etc-passwd"),
        ("Ⅻ ﬁle", "xii-file"),
        ("x" * 39 + " yz", "x" * 39),
        ("word " * 30, ("word-" * 8)[:-1]),
        ("", "task"),
        ("   \n\t ", "task"),
        ("🚀🔥✨", "task"),
        ("修复登录错误", "task"),
        ("!!!", "task"),
    ],
)
def test_slug_values(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_slug_fallback_is_configurable() -> None:
    assert slugify("🚀", fallback="project") == "project"
    assert slugify("Demo", fallback="project") == "demo"


def test_git_accepts_every_task_branch(tmp_path: Path) -> None:
    branches = [task_branch(i, title) for i, title in enumerate(TITLES, start=1)]
    assert len(set(branches)) == len(branches)
    for branch in branches:
        assert branch.startswith("seedbed/")
        result = subprocess.run(
            ["git", "check-ref-format", "--branch", branch],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, (branch, result.stderr)
        assert result.stdout.strip() == branch


def test_one_line_squeezes_a_title_for_commit_subjects() -> None:
    assert one_line("  first\nsecond\r\n\tthird  ") == "first second third"
    long = one_line("word " * 30)
    assert len(long) == 72 and long.endswith("…") and "\n" not in long
    assert one_line("short") == "short"


def test_a_taken_name_gets_the_first_free_number() -> None:
    assert free_name("x", {"x", "x-2", "x-4"}) == "x-3"
    assert free_name("x", set()) == "x"
