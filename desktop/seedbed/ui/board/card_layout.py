"""Where each part of a card goes: a pure function of the card, its font and its box.

The delegate paints what `lay_out_card` returns and nothing else, so a test can check
the rects themselves: no two parts of a card ever overlap, whatever the title, the
badges or the column's width. After the title (two lines), each line hands out its room
in order of importance: the phase badge, the overlap badge, then the profile; the checks,
then the usage on the right; then the diff size and the budget. A part gets what is left,
its text elided to fit, and is left out when not even an ellipsis would.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics

from seedbed.domain.models import Card, TaskState
from seedbed.ui.common import format as fmt

MARGIN = 3  # around the card, outside its border
PAD = 8  # inside its border
GAP = 4
PIN_WIDTH = 10  # the pin of a foreground task, drawn (no emoji font needed)
PILL_PAD = 10  # a badge's text has this much room around it, all told
TITLE_LINES = 2
BAR = 4
ELAPSED_TEMPLATE = "00h 00m"  # the widest elapsed time, for the room it needs
CACHE_TITLES = 2000  # titles as laid out: a card repaints on each change of its usage

# Worked out once per font and per title: a running card is laid out again at each
# change of its usage or phase, and measuring its title is most of that.
_metrics: dict[str, tuple[QFontMetrics, QFontMetrics]] = {}  # font key → plain, bold
_titles: dict[tuple[str, str, int, int], tuple[str, str | None]] = {}


class Part(StrEnum):
    PIN = "pin"
    TITLE = "title"
    TITLE_REST = "title_rest"
    ELAPSED = "elapsed"
    BADGE = "badge"
    OVERLAP = "overlap"
    SHIELD = "shield"  # its agent runs in a sandbox
    PROFILE = "profile"
    CHECKS = "checks"
    PROGRESS = "progress"  # its agent's last progress line, while it runs
    PLUS = "plus"
    MINUS = "minus"
    FILES = "files"
    OVER_BUDGET = "over_budget"
    USAGE = "usage"
    QUESTION = "question"  # what its agent asks the user (in place of checks and usage)
    BAR = "bar"


class Placed(NamedTuple):
    """One part of a card: where it goes and the text it shows there (elided)."""

    part: Part
    rect: QRect
    text: str


def split_line(metrics: QFontMetrics, text: str, width: int) -> tuple[str, str]:
    """The words of `text` that fit in `width` on one line, and the rest (a single word
    too long for the line is cut where it must be)."""
    if metrics.horizontalAdvance(text) <= width:
        return text, ""
    words = text.split(" ")
    taken = 0
    while taken < len(words) and metrics.horizontalAdvance(" ".join(words[: taken + 1])) <= width:
        taken += 1
    if taken == 0:
        cut = len(text)
        while cut > 1 and metrics.horizontalAdvance(text[:cut]) > width:
            cut -= 1
        return text[:cut], text[cut:]
    return " ".join(words[:taken]), " ".join(words[taken:])


def fit(metrics: QFontMetrics, text: str, room: int, pad: int = 0) -> tuple[str, int]:
    """`text` elided to `room` (less `pad` around it) and the width it then takes with
    its pad; ("", 0) when even its ellipsis does not fit."""
    if not text or room <= pad:
        return "", 0
    width = metrics.horizontalAdvance(text)
    if width + pad <= room:
        return text, width + pad
    shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, room - pad)
    if not shown or shown == "…":
        return "", 0
    return shown, min(room, metrics.horizontalAdvance(shown) + pad)


def font_metrics(font: QFont) -> tuple[QFontMetrics, QFontMetrics]:
    """The metrics of `font` and of its bold."""
    key = font.key()
    found = _metrics.get(key)
    if found is None:
        bold = QFont(font)
        bold.setBold(True)
        found = _metrics[key] = (QFontMetrics(font), QFontMetrics(bold))
    return found


def title_lines(font: QFont, title: str, first: int, rest: int) -> tuple[str, str | None]:
    """The bold title's words that fit in `first` pixels, and the rest elided to `rest`
    (None when there is no rest)."""
    key = (font.key(), title, first, rest)
    found = _titles.get(key)
    if found is None:
        bold = font_metrics(font)[1]
        line, more = split_line(bold, title, first)
        shown = bold.elidedText(more, Qt.TextElideMode.ElideRight, rest) if more else None
        if len(_titles) >= CACHE_TITLES:
            _titles.clear()
        found = _titles[key] = (line, shown)
    return found


def card_box(rect: QRect) -> QRect:
    """Where a card's parts go in the rect the view gives it."""
    inset = MARGIN + PAD
    return rect.adjusted(inset, inset, -inset, -inset)


def card_height(font: QFont) -> int:
    """The inner height of a card: the title's lines, three more lines, the bar."""
    line = QFontMetrics(font).height()
    return (TITLE_LINES + 3) * line + 4 * GAP + BAR


def lay_out_card(
    card: Card,
    overlaps: list[tuple[int, list[str]]],
    font: QFont,
    box: QRect,
    badge: str,
) -> list[Placed]:
    """Every part of the card inside `box` (the card less its margin and padding), none
    overlapping another. `badge`: what the phase badge says (the theme words it)."""
    metrics, bold_metrics = font_metrics(font)
    line = metrics.height()
    left, right = box.left(), box.left() + box.width()
    placed: list[Placed] = []
    task = card.task

    # Line 1: the pin, the title's first words, the elapsed time (painted live, over the
    # cached picture, in the room kept for it here). Line 2: the rest of the title.
    top = box.top()
    x = left
    end = right
    if card.run_started_at is not None:
        width = min(metrics.horizontalAdvance(ELAPSED_TEMPLATE), box.width() // 3)
        placed.append(Placed(Part.ELAPSED, QRect(right - width, top, width, line), ""))
        end = right - width - GAP
    if task.foreground:
        placed.append(Placed(Part.PIN, QRect(x, top, PIN_WIDTH, line), ""))
        x += PIN_WIDTH + GAP
    title = f"#{task.id} {' '.join(task.title.split())}"
    first, rest = title_lines(font, title, max(0, end - x), box.width())
    if first:
        placed.append(Placed(Part.TITLE, QRect(x, top, max(0, end - x), line), first))
    if rest is not None:
        placed.append(Placed(Part.TITLE_REST, QRect(left, top + line, box.width(), line), rest))

    # Line 3: a shield when sandboxed, the phase badge, the overlap badge, then the
    # profile in what is left.
    y = top + TITLE_LINES * line + GAP
    room = box.width()
    x = left
    if card.sandboxed and room >= line:  # first: it says what the agent may do
        placed.append(Placed(Part.SHIELD, QRect(x, y, line, line), ""))
        x += line + GAP
        room -= line + GAP
    for part, label in ((Part.BADGE, badge), (Part.OVERLAP, fmt.overlap_badge(overlaps))):
        text, width = fit(metrics, label, room, PILL_PAD)
        if width:
            placed.append(Placed(part, QRect(x, y, width, line), text))
            x += width + 2 * GAP
            room -= width + 2 * GAP
    profile = card.profile_name or "no profile"
    if task.parent_id is not None:  # split from a bigger task's plan
        profile += f" · from #{task.parent_id}"
    elif task.origin_id is not None:  # added by another task's agent
        profile += f" · from #{task.origin_id}"
    text, width = fit(metrics, profile, room)
    if width:
        placed.append(Placed(Part.PROFILE, QRect(x, y, width, line), text))

    # Line 4: the checks, fix rounds and verdict, then the usage at the right; or the
    # question its agent waits on the user for; while it runs, its agent's last progress
    # line (report_progress) in the checks' place.
    y += line + GAP
    question = " ".join(card.question.split())
    progress = " ".join(card.progress.split()) if task.state is TaskState.RUNNING else ""
    if question:
        text, width = fit(metrics, f"asks: {question}", box.width())
        if width:
            placed.append(Placed(Part.QUESTION, QRect(left, y, width, line), text))
    elif progress:
        usage, usage_width = fit(metrics, fmt.usage_line(card), box.width() // 3)
        room = box.width() - (usage_width + 2 * GAP if usage_width else 0)
        text, width = fit(metrics, progress, room)
        if width:
            placed.append(Placed(Part.PROGRESS, QRect(left, y, width, line), text))
        if usage_width:
            spot = QRect(right - usage_width, y, usage_width, line)
            placed.append(Placed(Part.USAGE, spot, usage))
    else:
        text, width = fit(metrics, fmt.check_label(card), box.width())
        room = box.width()
        if width:
            placed.append(Placed(Part.CHECKS, QRect(left, y, width, line), text))
            room -= width + 2 * GAP
        text, width = fit(metrics, fmt.usage_line(card), room)
        if width:
            placed.append(Placed(Part.USAGE, QRect(right - width, y, width, line), text))

    # Line 5: the diff size ("over budget" past the project's budget).
    y += line + GAP
    x = left
    room = box.width()
    plus, minus, files = fmt.diff_parts(card)
    pieces: list[tuple[Part, str, QFontMetrics]] = [
        (Part.PLUS, plus, metrics),
        (Part.MINUS, minus, metrics),
        (Part.FILES, files, metrics),
    ]
    if plus and fmt.over_budget(card):
        pieces.append((Part.OVER_BUDGET, fmt.OVER_BUDGET, bold_metrics))
    for part, piece, piece_metrics in pieces:
        text, width = fit(piece_metrics, piece, room)
        if not width:
            break
        placed.append(Placed(part, QRect(x, y, width, line), text))
        x += width + GAP
        room -= width + GAP

    if card.context_fill > 0:  # the context-fill bar along the bottom
        placed.append(Placed(Part.BAR, QRect(left, box.bottom() - BAR + 1, box.width(), BAR), ""))
    return placed
