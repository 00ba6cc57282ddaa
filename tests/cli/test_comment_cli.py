"""`seedbed comment add`: a comment is about the task's diff, and its id is its own."""

from __future__ import annotations

from tests.conftest import SeedbedCli
from tests.test_cli import error_line, run_task


def test_comment_add_refuses_a_file_outside_the_diff_and_a_line_outside_the_file(
    seedbed: SeedbedCli, project: str
) -> None:
    task = run_task(seedbed, "printf 'one\\ntwo\\nthree\\n' > notes.txt")
    task_id = str(task["id"])

    line = error_line(seedbed("comment", "add", task_id, "--file", "README.md", "--body", "x"))
    assert "README.md is not in task" in line and "notes.txt" in line
    line = error_line(
        seedbed("comment", "add", task_id, "--file", "notes.txt", "--line", "4", "--body", "x")
    )
    assert "line 4 is outside notes.txt, which has 3 lines" in line
    selection = ["--line", "2", "--end-line", "9"]
    line = error_line(
        seedbed("comment", "add", task_id, "--file", "notes.txt", *selection, "--body", "x")
    )
    assert "line 9 is outside notes.txt" in line
    assert seedbed.ok("comment", "list", task_id, "--json").json() == []

    seedbed.ok("comment", "add", task_id, "--file", "notes.txt", "--line", "3", "--body", "ok")
    seedbed.ok("comment", "add", task_id, "--file", "notes.txt", "--body", "whole file")


def test_a_deleted_comments_id_is_not_given_to_the_next(seedbed: SeedbedCli, project: str) -> None:
    task_id = str(run_task(seedbed, "echo new > new.txt")["id"])
    first = seedbed.ok("comment", "add", task_id, "--file", "new.txt", "--body", "a").out.strip()
    last = seedbed.ok("comment", "add", task_id, "--file", "new.txt", "--body", "b").out.strip()
    seedbed.ok("comment", "delete", last)

    again = seedbed.ok("comment", "add", task_id, "--file", "new.txt", "--body", "c").out.strip()

    assert int(again) > int(last) > int(first)
    assert "no comment" in error_line(seedbed("comment", "edit", last, "--body", "old id"))
