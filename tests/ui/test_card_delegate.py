"""The card delegate paints every part of a card, legibly on light and dark palettes."""

from __future__ import annotations

import itertools
import time

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPalette
from PySide6.QtWidgets import QListView, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from seedbed.domain.models import Card, CheckStatus, Phase, RunStatus, Task, TaskState
from seedbed.ui.board.board_model import TaskModel
from seedbed.ui.board.card_delegate import CardDelegate
from seedbed.ui.board.card_layout import Part, card_box, lay_out_card
from seedbed.ui.common import format as fmt
from seedbed.ui.common import theme
from seedbed.ui.common.context import AppContext
from seedbed.ui.window.main_window import MainWindow

WIDTH = 320


def palette(dark: bool) -> QPalette:
    p = QPalette()
    window, text = ("#202124", "#e8eaed") if dark else ("#f5f5f5", "#1f1f1f")
    base = "#2b2c2f" if dark else "#ffffff"
    for role, colour in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Highlight, "#1a73e8"),
    ):
        p.setColor(role, QColor(colour))
    return p


def render(qtbot: QtBot, card: Card, dark: bool) -> QImage:
    view = QListView()
    qtbot.addWidget(view)
    model = TaskModel(view)
    model.set_cards([card])
    view.setModel(model)
    delegate = CardDelegate(view)
    delegate.now = lambda: (card.run_started_at or 0) + 65
    option = QStyleOptionViewItem()
    option.palette = palette(dark)
    option.font = view.font()
    height = delegate.sizeHint(option, model.index(0)).height()
    option.rect = QRect(0, 0, WIDTH, height)
    image = QImage(WIDTH, height, QImage.Format.Format_ARGB32)
    image.fill(option.palette.color(QPalette.ColorRole.Window))
    painter = QPainter(image)
    delegate.paint(painter, option, model.index(0))
    painter.end()
    return image


def colours(image: QImage) -> set[str]:
    return {
        image.pixelColor(x, y).name() for x in range(image.width()) for y in range(image.height())
    }


def count_near(image: QImage, target: QColor, tolerance: int = 40) -> int:
    found = 0
    for x in range(image.width()):
        for y in range(image.height()):
            c = image.pixelColor(x, y)
            if (
                abs(c.red() - target.red())
                + abs(c.green() - target.green())
                + abs(c.blue() - target.blue())
                < tolerance
            ):
                found += 1
    return found


def sample(fill: float, checks: CheckStatus = CheckStatus.PASSED) -> Card:
    now = time.time()
    return Card(
        task=Task(
            id=42,
            project_id=1,
            title='Add "dark mode"\nto settings',
            state=TaskState.RUNNING,
            phase=Phase.IMPLEMENTING,
            foreground=True,
            diff_files=3,
            diff_insertions=120,
            diff_deletions=7,
            updated_at=now,
        ),
        profile_name="claude",
        tokens_in=40_000,
        tokens_out=2_000,
        cost_usd=0.42,
        context_fill=fill,
        check_status=checks,
        run_started_at=now - 65,
    )


@pytest.mark.parametrize("dark", [False, True])
def test_a_card_is_painted_with_its_parts(qtbot: QtBot, dark: bool) -> None:
    image = render(qtbot, sample(0.3), dark)
    p = palette(dark)
    # Text in the palette's text colour, the diff's plus in green, minus in red.
    assert count_near(image, p.color(QPalette.ColorRole.Text)) > 50
    assert count_near(image, theme.success(p)) > 20
    assert count_near(image, theme.danger(p)) > 5
    assert len(colours(image)) > 20


@pytest.mark.parametrize(
    ("fill", "expected"), [(0.3, "success"), (0.7, "warning"), (0.9, "danger")]
)
def test_the_context_bar_turns_amber_then_red(qtbot: QtBot, fill: float, expected: str) -> None:
    p = palette(False)
    image = render(qtbot, sample(fill, CheckStatus.NONE), dark=False)
    bar_row = image.height() - 3 - 8 - 2  # inside the bottom bar
    row = [image.pixelColor(x, bar_row) for x in range(image.width())]
    target: QColor = getattr(theme, expected)(p)
    hits = sum(
        1
        for c in row
        if abs(c.red() - target.red())
        + abs(c.green() - target.green())
        + abs(c.blue() - target.blue())
        < 30
    )
    # The coloured part is as long as the fill.
    inner = WIDTH - 2 * (3 + 8)
    assert abs(hits - inner * fill) < inner * 0.06, (hits, inner * fill)


def test_no_bar_before_any_usage(qtbot: QtBot) -> None:
    p = palette(False)
    image = render(qtbot, sample(0.0, CheckStatus.NONE), dark=False)
    bar_row = image.height() - 3 - 8 - 2
    row = [image.pixelColor(x, bar_row).name() for x in range(20, WIDTH - 20)]
    assert set(row) == {p.color(QPalette.ColorRole.Base).name()}


def test_a_foreground_task_wears_a_pin(qtbot: QtBot) -> None:
    p = palette(False)
    pinned = sample(0.0, CheckStatus.NONE)
    unpinned = pinned.model_copy(
        update={"task": pinned.task.model_copy(update={"foreground": False})}
    )

    def accent_in_corner(image: QImage) -> int:
        corner = image.copy(0, 0, 30, 30)
        return count_near(corner, theme.accent(p), tolerance=60)

    assert accent_in_corner(render(qtbot, pinned, dark=False)) > 10
    assert accent_in_corner(render(qtbot, unpinned, dark=False)) == 0


def render_with(qtbot: QtBot, card: Card, overlaps: list | None = None) -> QImage:
    """The card painted light, with the conflict radar's answer for it."""
    view = QListView()
    qtbot.addWidget(view)
    model = TaskModel(view)
    model.set_cards([card])
    model.set_overlaps({card.task.id: overlaps or []})
    view.setModel(model)
    delegate = CardDelegate(view)
    delegate.now = lambda: (card.run_started_at or 0) + 65
    option = QStyleOptionViewItem()
    option.palette = palette(False)
    option.font = view.font()
    height = delegate.sizeHint(option, model.index(0)).height()
    option.rect = QRect(0, 0, WIDTH, height)
    image = QImage(WIDTH, height, QImage.Format.Format_ARGB32)
    image.fill(option.palette.color(QPalette.ColorRole.Window))
    painter = QPainter(image)
    delegate.paint(painter, option, model.index(0))
    painter.end()
    return image


def band(image: QImage, line: int) -> QImage:
    """The card's text line number `line` (0: the title's first), full width."""
    height = QFontMetrics(QListView().font()).height()
    # The title's two lines have no gap between them; each line after them follows one.
    below = line * height if line < 2 else 2 * height + (line - 1) * 4 + (line - 2) * height
    top = 3 + 8 + below
    return image.copy(0, top, image.width(), height)


def with_budget(budget: int) -> Card:
    card = sample(0.0, CheckStatus.NONE)
    return card.model_copy(update={"diff_budget": budget})


def test_a_diff_over_budget_says_so_in_the_danger_colour(qtbot: QtBot) -> None:
    danger = theme.danger(palette(False))
    diff_line = 4  # below the badges and the checks
    over = count_near(band(render_with(qtbot, with_budget(100)), diff_line), danger)  # 127 lines
    within = count_near(band(render_with(qtbot, with_budget(400)), diff_line), danger)
    none = count_near(band(render_with(qtbot, with_budget(0)), diff_line), danger)
    assert within == none > 0  # the minus sign of the diff only
    assert over > within + 30, (over, within)


def test_a_card_that_overlaps_another_wears_a_badge(qtbot: QtBot) -> None:
    danger = theme.danger(palette(False))
    card = sample(0.0, CheckStatus.NONE)
    alone = count_near(band(render_with(qtbot, card), 2), danger)
    flagged = count_near(band(render_with(qtbot, card, [(12, ["a.py"])]), 2), danger)
    assert flagged > alone + 30, (flagged, alone)


def test_the_cached_picture_follows_the_overlaps(qtbot: QtBot) -> None:
    """The same Card object with new overlaps must not reuse the old picture."""
    view = QListView()
    qtbot.addWidget(view)
    card = sample(0.0, CheckStatus.NONE)
    model = TaskModel(view)
    model.set_cards([card])
    delegate = CardDelegate(view)
    option = QStyleOptionViewItem()
    option.palette = palette(False)
    option.font = view.font()
    option.rect = QRect(0, 0, WIDTH, delegate.sizeHint(option, model.index(0)).height())
    danger = theme.danger(option.palette)

    def paint() -> int:
        image = QImage(option.rect.size(), QImage.Format.Format_ARGB32)
        image.fill(option.palette.color(QPalette.ColorRole.Window))
        painter = QPainter(image)
        delegate.paint(painter, option, model.index(0))
        painter.end()
        return count_near(band(image, 2), danger)

    before = paint()
    model.set_overlaps({card.task.id: [(7, ["x.py"])]})
    assert paint() > before + 10
    model.set_overlaps({})
    assert paint() == before


def crowded(title: str, phase: Phase, **fields: object) -> Card:
    """A card with every part there is: long title, pin, badges, checks, a big diff."""
    now = time.time()
    task = Task(
        id=1234,
        project_id=1,
        title=title,
        state=TaskState.AWAITING_REVIEW,
        phase=phase,
        foreground=True,
        diff_files=123,
        diff_insertions=12_345,
        diff_deletions=6_789,
        fix_rounds_used=1,
        review_verdict="approve",
        parent_id=77,
        updated_at=now,
    )
    return Card.model_validate(
        {
            "task": task,
            "profile_name": "a planner profile with a long name",
            "tokens_in": 12_345_678,
            "tokens_out": 345_678,
            "cost_usd": 123.45,
            "context_fill": 0.7,
            "check_status": CheckStatus.PASSED,
            "run_started_at": now - 4000,
            "diff_budget": 400,
            **fields,
        }
    )


LONG = "Refactor the settings dialog so that every page is built from its declaration " * 3


@pytest.mark.parametrize("phase", [Phase.READY, Phase.INTERRUPTED, Phase.CHECKS_FAILED])
@pytest.mark.parametrize("overlaps", [0, 1, 5])
def test_no_two_parts_of_a_card_overlap_at_the_default_column_width(
    qtbot: QtBot, project: str, app_context: AppContext, phase: Phase, overlaps: int
) -> None:
    """The conflict-radar badge and "✓ checks · 1 fix round · reviewer ✓" were drawn on top
    of each other: each part now gets what the others left, elided."""
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.board.isVisible())
    column = window.board.columns[TaskState.AWAITING_REVIEW].viewport().width()
    assert 150 < column < 400  # the default window: four columns beside the log
    font = window.board.columns[TaskState.AWAITING_REVIEW].font()
    radar = [(n, ["a.py"]) for n in range(100, 100 + overlaps)]
    card = crowded(LONG, phase, run_status=RunStatus.STOPPED, run_reason="token budget reached")
    card = card.model_copy(update={"sandboxed": True})  # its shield takes room too
    for width in (column, column - 40, 120, 480):
        box = card_box(QRect(0, 0, width, 200))
        badge = fmt.badge_label(card, theme.phase_label(card.task))
        placed = lay_out_card(card, radar, font, box, badge)
        parts = {p.part for p in placed}
        assert {Part.TITLE, Part.BADGE} <= parts
        if width >= column:
            assert Part.CHECKS in parts and (Part.OVERLAP in parts or not overlaps)
            assert Part.SHIELD in parts
        for a, b in itertools.combinations(placed, 2):
            if Part.BAR not in (a.part, b.part):
                assert not a.rect.intersects(b.rect), (width, a, b)
        for p in placed:
            assert box.contains(p.rect), (width, p)
            metrics = QFontMetrics(font)
            if p.text and p.part not in (Part.TITLE, Part.TITLE_REST, Part.OVER_BUDGET):
                assert metrics.horizontalAdvance(p.text) <= p.rect.width(), (width, p)


def test_a_sandboxed_card_wears_a_shield(qtbot: QtBot) -> None:
    """Before the profile's name, on the badge line, in the success colour."""
    p = palette(False)
    bare = sample(0.0, CheckStatus.NONE)
    boxed = bare.model_copy(update={"sandboxed": True})

    def shield(card: Card) -> int:
        return count_near(band(render(qtbot, card, dark=False), 2), theme.success(p), tolerance=60)

    assert shield(boxed) > 10
    assert shield(bare) == 0


def test_a_running_card_shows_its_agents_progress_and_where_it_came_from(
    qtbot: QtBot,
) -> None:
    """The agent's last report_progress line in the checks' place while it runs (never
    over the usage), and "from #N" for a task another task's agent added."""
    window = QListView()
    qtbot.addWidget(window)
    font = window.font()
    running = crowded("Write the docs", Phase.IMPLEMENTING, progress="tests pass;\n docs next")
    task = running.task.model_copy(
        update={"state": TaskState.RUNNING, "parent_id": None, "origin_id": 12}
    )
    running = running.model_copy(update={"task": task})
    for width in (360, 200):
        box = card_box(QRect(0, 0, width, 200))
        placed = lay_out_card(running, [], font, box, "implementing")
        shown = {p.part: p for p in placed}
        assert Part.PROGRESS in shown and Part.CHECKS not in shown
        assert shown[Part.PROGRESS].text.startswith("tests pass")
        assert "\n" not in shown[Part.PROGRESS].text
        assert not shown[Part.PROGRESS].rect.intersects(shown[Part.USAGE].rect)
        assert shown[Part.PROFILE].text.endswith("from #12") or "…" in shown[Part.PROFILE].text
    wide = lay_out_card(running, [], font, card_box(QRect(0, 0, 600, 200)), "implementing")
    assert [p.text for p in wide if p.part is Part.PROGRESS] == ["tests pass; docs next"]
    # Once it ran, the checks have their place back.
    done = running.model_copy(
        update={
            "task": task.model_copy(
                update={"state": TaskState.AWAITING_REVIEW, "phase": Phase.READY}
            )
        }
    )
    parts = {p.part for p in lay_out_card(done, [], font, card_box(QRect(0, 0, 360, 200)), "ready")}
    assert Part.CHECKS in parts and Part.PROGRESS not in parts
