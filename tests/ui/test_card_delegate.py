"""The card delegate paints every part of a card, legibly on light and dark palettes."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QListView, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from seedbed.domain.models import Card, CheckStatus, Phase, Task, TaskState
from seedbed.ui import theme
from seedbed.ui.board_model import TaskModel
from seedbed.ui.card_delegate import CardDelegate

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
