"""load_review over a real repository and a real command agent's run."""

from __future__ import annotations

import json
from pathlib import Path

from seedbed.core.context import Context
from seedbed.core.review_agent import Verdict
from seedbed.core.review_data import (
    FirstFile,
    listed_outlines,
    load_file,
    load_first_in_tree_order,
    load_outline,
    load_outline_in_tree_order,
    load_review,
    prefilled_message,
    with_first_file,
)
from seedbed.core.transcript import last_answer
from seedbed.domain.diffs import FileDiff
from seedbed.domain.events import TextEvent
from seedbed.domain.models import Phase, Task, TaskState
from seedbed.store import Store
from tests.conftest import SeedbedCli, git
from tests.core.test_review import finish_task

LIB = "".join(f"line {n}\n" for n in range(1, 41))
AGENT = (
    "printf 'new\\n' > added.txt && rm README.md && mkdir -p docs && mv notes.md docs/notes.md"
    " && sed -i 's/^line 5$/line five/; s/^line 35$/line thirty-five/' lib.txt"
)


def prepare(repo: Path) -> None:
    (repo / "notes.md").write_text("".join(f"note {n}\n" for n in range(1, 20)))
    (repo / "lib.txt").write_text(LIB)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "more files")


def test_load_review_reads_the_parsed_diff_checks_and_summary(
    seedbed: SeedbedCli, project: str, repo: Path, data_dir: Path
) -> None:
    prepare(repo)
    task = finish_task(seedbed, AGENT)
    store = Store.open(data_dir)
    run = store.list_runs(task["id"])[-1]
    answer = TextEvent(text="I renamed the notes.").model_dump_json()
    piece = TextEvent(text="partial", delta=True).model_dump_json()
    store.append_events(
        run.id,
        store.count_events(run.id),
        [(0.0, "text", answer, True), (0.0, "text", piece, False)],
    )

    data = load_review(Context(store), task["id"])

    by_path = {f.path: f for f in data.files}
    assert {p: f.status for p, f in by_path.items()} == {
        "added.txt": "A",
        "README.md": "D",
        "docs/notes.md": "R",
        "lib.txt": "M",
    }
    assert by_path["docs/notes.md"].old_path == "notes.md"
    assert (by_path["lib.txt"].insertions, by_path["lib.txt"].deletions) == (2, 2)
    assert len(by_path["lib.txt"].hunks) == 2
    assert not data.live
    assert data.summary == "I renamed the notes."
    assert data.checks.status.value == "none"
    assert data.run_id == run.id
    assert json.loads(data.model_dump_json())["task"]["id"] == task["id"]
    assert last_answer(store, run.id) == "I renamed the notes."
    store.close()


def test_a_budget_note_when_the_diff_is_over_budget(
    seedbed: SeedbedCli, repo: Path, data_dir: Path
) -> None:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--diff-budget", "1")
    task = finish_task(seedbed, "printf 'a\\nb\\nc\\n' > new.txt")
    store = Store.open(data_dir)
    data = load_review(Context(store), task["id"])
    assert "budget 1" in data.budget_note
    store.close()


def test_an_outline_lists_every_file_and_parses_only_the_first(
    seedbed: SeedbedCli, project: str, repo: Path, data_dir: Path
) -> None:
    prepare(repo)
    task = finish_task(seedbed, AGENT)
    store = Store.open(data_dir)
    whole = {f.path: f for f in load_review(Context(store), task["id"]).files}

    picked: list[list[str]] = []

    def first(files: list[FileDiff]) -> FileDiff | None:
        picked.append([f.path for f in files])
        return next(f for f in files if f.path == "docs/notes.md")

    outline = load_outline(Context(store), task["id"], False, first)

    assert outline.outline and picked and sorted(picked[0]) == sorted(whole)
    by_path = {f.path: f for f in outline.files}
    for path, file in whole.items():  # the same list, the same counts
        shown = by_path[path]
        assert (shown.status, shown.old_path, shown.insertions, shown.deletions) == (
            file.status,
            file.old_path,
            file.insertions,
            file.deletions,
        )
    # The picked file (a rename: both paths limit the diff) is parsed, the others not.
    assert by_path["docs/notes.md"] == whole["docs/notes.md"]
    assert [p for p, f in by_path.items() if f.outline] == [
        p for p in by_path if p != "docs/notes.md"
    ]
    assert by_path["lib.txt"].hunks == []
    # An outline's file is parsed on its own when asked for, as in the whole diff.
    ctx = Context(store)
    assert load_file(ctx, outline.diff_range, by_path["lib.txt"]) == whole["lib.txt"]
    assert load_file(ctx, outline.diff_range, whole["lib.txt"]) is whole["lib.txt"]
    assert outline.diff_range is not None
    store.close()


def test_the_first_file_read_alone_is_the_one_the_outline_parses(
    seedbed: SeedbedCli, project: str, repo: Path, data_dir: Path
) -> None:
    """The window lays it out while the outline's counts are read: the same file, from
    the same two states; git's rename found without the counts."""
    prepare(repo)
    task = finish_task(seedbed, AGENT)
    store = Store.open(data_dir)
    outline = load_outline_in_tree_order(Context(store), task["id"])
    first = load_first_in_tree_order(Context(store), task["id"])
    parsed = [f for f in outline.files if not f.outline]
    assert first.file is not None and [first.file] == parsed
    assert first.file.path == "docs/notes.md" and first.file.old_path == "notes.md"
    assert first.diff_range == outline.diff_range is not None

    # The list it came with: the outline's files, their blobs too, without the counts.
    def listed(f: FileDiff) -> tuple[object, ...]:
        return (f.path, f.old_path, f.status, f.old_blob, f.new_blob)

    assert sorted(map(listed, first.files)) == sorted(map(listed, outline.files))
    shown = listed_outlines(first.files)
    assert sorted(map(listed, shown)) == sorted(map(listed, outline.files))
    assert all(f.outline and f.insertions == f.deletions == 0 and not f.hunks for f in shown)
    # Sent as it is over the API: JSON arrays, read back the same.
    assert FirstFile.model_validate_json(first.model_dump_json()) == first
    # An outline read without it takes it in; one of other states does not.
    bare = load_outline_in_tree_order(Context(store), task["id"], None, parse_first=False)
    assert all(f.outline for f in bare.files)
    assert with_first_file(bare, first).files == outline.files
    assert first.diff_range is not None
    moved = first.model_copy(
        update={"diff_range": first.diff_range.model_copy(update={"new": "0" * 40})}
    )
    assert with_first_file(bare, moved) == bare
    store.close()


def test_a_file_whose_name_looks_like_a_pathspec_is_read_literally(
    seedbed: SeedbedCli, project: str, repo: Path, data_dir: Path
) -> None:
    agent = "printf 'star\\n' > '*.txt' && printf 'other\\n' > b.txt && printf 'x\\n' > ':c'"
    task = finish_task(seedbed, agent)
    store = Store.open(data_dir)
    outline = load_outline(Context(store), task["id"], False, lambda fs: None)
    by_path = {f.path: f for f in outline.files}
    assert set(by_path) >= {"*.txt", "b.txt", ":c"}
    star = load_file(Context(store), outline.diff_range, by_path["*.txt"])
    assert [line.text for line in star.hunks[0].lines] == ["star"]
    colon = load_file(Context(store), outline.diff_range, by_path[":c"])
    assert [line.text for line in colon.hunks[0].lines] == ["x"]
    store.close()


def test_since_last_review_of_a_running_task_reads_its_working_tree(
    seedbed: SeedbedCli, project: str, repo: Path, data_dir: Path
) -> None:
    task = finish_task(seedbed, "printf 'one\\n' > first.txt")
    store = Store.open(data_dir)
    tip = git(repo, "rev-parse", task["branch"]).strip()
    store.update_task(task["id"], reviewed_commit=tip)
    store.move_task(task["id"], TaskState.RUNNING, Phase.IMPLEMENTING)
    worktree = Path(task["worktree"])
    (worktree / "second.txt").write_text("two\n")  # the agent at work, not committed

    data = load_review(Context(store), task["id"], since_reviewed=True)

    assert data.live and data.since == tip
    assert [f.path for f in data.files] == ["second.txt"]
    # Opening on it: no first file read beside a live diff, so the outline parses it.
    ctx = Context(store)
    assert load_first_in_tree_order(ctx, task["id"]) == FirstFile()
    outline = load_outline_in_tree_order(ctx, task["id"], None, parse_first=False)
    assert [(f.path, f.outline) for f in outline.files] == [("second.txt", False)]
    store.close()


EXECUTOR = (
    "printf 'x\\n' > a.txt; echo 'Added a.txt with an x.'; echo 'b.py reads it.'; echo;"
    ' for i in $(seq 1 40); do echo "build log line $i"; done'
)
REVIEWER = (
    "echo 'I read it.'; echo '```json';"
    ' echo \'{"verdict": "approve", "summary": "Fine by me.", "comments": []}\'; echo \'```\''
)


def test_the_summary_is_the_executors_and_the_reviewers_verdict_stands_apart(
    seedbed: SeedbedCli, repo: Path, data_dir: Path
) -> None:
    seedbed.ok("profile", "add", "critic", "--kind", "command", "--command", REVIEWER)
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--reviewer", "critic")
    task = finish_task(seedbed, EXECUTOR, title="Add a")
    store = Store.open(data_dir)
    assert [r.kind.value for r in store.list_runs(task["id"])] == ["implement", "review"]

    data = load_review(Context(store), task["id"])

    assert data.summary.startswith("Added a.txt with an x.\nb.py reads it.")
    assert "verdict" not in data.summary
    assert data.review is not None and data.review.verdict is Verdict.APPROVE
    assert data.review.summary == "Fine by me." and data.review_answer == ""
    # The prefilled message: the first paragraph of what the executor said, not its log.
    assert prefilled_message(data.task, data.summary) == (
        "Add a\n\nAdded a.txt with an x.\nb.py reads it.\n"
    )
    store.close()


def test_a_reviewer_answer_without_a_verdict_is_kept_as_it_is(
    seedbed: SeedbedCli, repo: Path, data_dir: Path
) -> None:
    seedbed.ok("profile", "add", "critic", "--kind", "command", "--command", "echo 'Looks ok?'")
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--reviewer", "critic")
    # It changes a file (a run that changes nothing is not reviewed) and says nothing.
    seedbed.ok("profile", "add", "quiet", "--kind", "command", "--command", "echo x > q.txt")
    task_id = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "T", "--profile", "quiet", "--start"
    ).out.strip()
    seedbed.ok("run", "--until-idle")
    store = Store.open(data_dir)
    data = load_review(Context(store), int(task_id))
    assert data.summary == ""  # the executor said nothing; the reviewer's words are not it
    assert data.review is None and data.review_answer == "Looks ok?"
    store.close()


def test_the_merge_message_is_a_first_paragraph_cut_to_size() -> None:
    task = Task(project_id=1, title="Speed up the parser")
    assert prefilled_message(task, "") == "Speed up the parser\n"
    headed = "## Summary\n\nCached the tokens.\n\n## Details\n\nLots."
    assert prefilled_message(task, headed) == "Speed up the parser\n\nCached the tokens.\n"
    printed = "\n".join(f"line {n}" for n in range(1, 100))  # a command's stdout
    body = prefilled_message(task, printed).split("\n\n", 1)[1]
    assert body.splitlines() == [*(f"line {n}" for n in range(1, 8)), "line 8…"]
    dots = prefilled_message(task, "." * 3000)
    assert len(dots) < 700 and dots.endswith("…\n")
    words = prefilled_message(task, "word " * 400)
    assert len(words) < 700 and words.endswith("word…\n")
    # A long title makes a subject of one commit line, as Seedbed's own commits have.
    titled = Task(project_id=1, title="Make the title long " * 15)
    subject, body = prefilled_message(titled, "Cached the tokens.").split("\n\n")
    assert len(subject) == 72 and subject.endswith("…") and body == "Cached the tokens.\n"
