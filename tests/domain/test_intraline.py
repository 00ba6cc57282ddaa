"""Intraline spans: the changed words of a changed line, and which lines pair up."""

from __future__ import annotations

import time

from seedbed.domain.diffs import DiffLine, Hunk, LineKind
from seedbed.domain.intraline import intraline, pair_lines


def marked(line: str, spans: list[tuple[int, int]]) -> list[str]:
    return [line[start:end] for start, end in spans]


def test_a_renamed_identifier_is_one_span_on_each_side() -> None:
    old, new = "total = compute(items, rate)", "grand_total = compute(items, rate)"
    old_spans, new_spans = intraline(old, new)
    assert marked(old, old_spans) == ["total"]
    assert marked(new, new_spans) == ["grand_total"]


def test_a_changed_number() -> None:
    old, new = "retries = 3  # enough", "retries = 5  # enough"
    assert intraline(old, new) == ([(10, 11)], [(10, 11)])


def test_separate_edits_stay_separate_and_adjacent_ones_merge() -> None:
    old, new = "call(a, b, c)", "call(x, b, y.z)"
    old_spans, new_spans = intraline(old, new)
    assert marked(old, old_spans) == ["a", "c"]
    assert marked(new, new_spans) == ["x", "y.z"]  # three tokens, one span
    old, new = "if ready and not done:", "if ready and set and waiting:"
    assert marked(new, intraline(old, new)[1]) == ["set and waiting"]  # across spaces


def test_an_insertion_marks_only_the_new_side() -> None:
    old, new = "run(task)", "run(task, timeout=5)"
    assert intraline(old, new) == ([], [(8, 19)])


def test_completely_different_lines_get_no_spans() -> None:
    assert intraline("import os", "return result * factor + 1") == ([], [])


def test_equal_and_too_long_lines_get_no_spans() -> None:
    assert intraline("same", "same") == ([], [])
    long_old = " ".join(f"word{n}" for n in range(100))
    long_new = long_old.replace("word50", "changed")
    assert len(long_old) > 500
    assert intraline(long_old, long_new) == ([], [])
    assert marked(long_new, intraline(long_old, long_new, max_chars=1000)[1]) == ["changed"]


def test_a_repetitive_line_is_refused_before_it_gets_slow() -> None:
    """x = 1 x = 1 … is the matcher's quadratic worst case; under the length cap it must
    still return at once (it took 0.3 s before the equal-pairs budget)."""
    old, new = "x = 1 " * 83, "x = 2 " * 83
    started = time.perf_counter()
    assert intraline(old, new) == ([], [])
    assert time.perf_counter() - started < 0.05
    assert intraline("x = 1 " * 10, "x = 2 " * 10)[0] == [(4 + 6 * k, 5 + 6 * k) for k in range(10)]


def test_unicode_words_and_offsets_in_code_points() -> None:
    old, new = "名前 = 'café'  # 🌱", "名前 = 'thé'  # 🌱"
    old_spans, new_spans = intraline(old, new)
    assert marked(old, old_spans) == ["café"]
    assert marked(new, new_spans) == ["thé"]
    assert old_spans == [(6, 10)]


def line(kind: str) -> DiffLine:
    return DiffLine(kind=LineKind(kind), text=kind)


def test_pair_lines_pairs_removed_and_added_blocks_by_position() -> None:
    kinds = [" ", "-", "-", "+", "+", "+", " ", "+", " ", "-", " ", "-", "+"]
    hunk = Hunk(old_start=1, old_count=0, new_start=1, new_count=0)
    hunk.lines = [line(kind) for kind in kinds]
    # 1-2 pair with 3-4 (5 is a surplus insertion); 7 has no removed block; 9 has no added one.
    assert pair_lines(hunk) == [(1, 3), (2, 4), (11, 12)]


def test_pair_lines_of_an_empty_or_context_only_hunk() -> None:
    hunk = Hunk(old_start=1, old_count=1, new_start=1, new_count=1)
    assert pair_lines(hunk) == []
    hunk.lines = [line(" ")]
    assert pair_lines(hunk) == []
