"""Paints a task card: no widget per card, so a column of 1,000 cards costs nothing."""

from __future__ import annotations

import time
from collections import OrderedDict

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    QSizeF,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from seedbed.domain.models import Card, CheckStatus
from seedbed.ui import format as fmt
from seedbed.ui import theme
from seedbed.ui.board_model import Role

MARGIN = 3
PAD = 8
GAP = 4
RADIUS = 6.0
BAR = 4
PIN_WIDTH = 10  # the pin of a foreground task, drawn (no emoji font needed)
TITLE_LINES = 2
CACHE_CARDS = 300  # pictures kept: a few screens of cards, ~100 KB each
ELAPSED_TEMPLATE = "00h 00m"  # the widest elapsed time, for the room it needs

Index = QModelIndex | QPersistentModelIndex


def draw_pin(painter: QPainter, rect: QRectF, colour: QColor) -> None:
    """A map pin: a round head on a short needle, centred in rect."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    head = min(rect.width(), rect.height()) * 0.7
    cx = rect.center().x()
    top = rect.top() + (rect.height() - head * 1.6) / 2
    painter.setPen(QPen(colour, 1.6))
    painter.drawLine(QPointF(cx, top + head * 0.8), QPointF(cx, top + head * 1.6))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawEllipse(QRectF(cx - head / 2, top, head, head))
    painter.restore()


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


class CardDelegate(QStyledItemDelegate):
    """Draws title, profile, phase badge, elapsed time, diff size ("over budget" past the
    project's diff budget), checks, tokens and cost, the context-fill bar (amber from
    60 %, red from 85 %), a pin for foreground tasks and a "⚠ #12" badge when another
    task changes the same files; every colour comes from the view's palette."""

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent)
        self.now = time.time
        # task id → (the Card it shows, size/state/palette/overlaps signature, its picture)
        self._cache: OrderedDict[int, tuple[Card, tuple[object, ...], QPixmap]] = OrderedDict()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        line = QFontMetrics(option.font).height()
        # Outer margin, padding, the title's lines, two more lines and their gaps, then a
        # gap and the bar.
        lines = TITLE_LINES + 2
        return QSize(200, 2 * MARGIN + 2 * PAD + lines * line + 3 * GAP + BAR)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        """Draw the card's cached picture, then the one part that changes every second
        (the elapsed time) on top: a column of running cards repaints every second, and
        drawing a card from scratch costs about a millisecond of Python."""
        card: Card | None = index.data(Role.ITEM)
        if card is None:
            return
        overlaps: list[tuple[int, list[str]]] = index.data(Role.OVERLAPS) or []
        palette: QPalette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        focused = bool(option.state & QStyle.StateFlag.State_HasFocus)
        ratio = painter.device().devicePixelRatioF() if painter.device() else 1.0
        signature = (
            option.rect.size().toTuple(),
            selected,
            focused,
            palette.cacheKey(),
            option.font.key(),
            ratio,
            tuple((other, tuple(files)) for other, files in overlaps),
        )
        cached = self._cache.get(card.task.id)
        if cached is not None and cached[0] is card and cached[1] == signature:
            self._cache.move_to_end(card.task.id)
            pixmap = cached[2]
        else:
            pixmap = QPixmap((QSizeF(option.rect.size()) * ratio).toSize())
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            picture = QPainter(pixmap)
            self._draw(picture, option, card, selected, focused, overlaps)
            picture.end()
            self._cache[card.task.id] = (card, signature, pixmap)
            if len(self._cache) > CACHE_CARDS:
                self._cache.popitem(last=False)
        painter.drawPixmap(option.rect.topLeft(), pixmap)
        elapsed = fmt.card_elapsed(card, self.now())
        if elapsed:
            metrics = QFontMetrics(option.font)
            inset = MARGIN + PAD
            box = option.rect.adjusted(inset, inset, -inset, -inset)
            width = metrics.horizontalAdvance(ELAPSED_TEMPLATE)
            painter.save()
            painter.setPen(theme.muted(palette))
            painter.setFont(option.font)
            painter.drawText(
                QRect(box.right() - width, box.top(), width, metrics.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                elapsed,
            )
            painter.restore()

    def _draw(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        card: Card,
        selected: bool,
        focused: bool,
        overlaps: list[tuple[int, list[str]]],
    ) -> None:
        """Everything but the elapsed time, into a pixmap the size of the card."""
        palette: QPalette = option.palette
        rect = QRect(QPoint(0, 0), option.rect.size())
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        outer = QRectF(rect).adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        base = palette.color(QPalette.ColorRole.Base)
        edge = theme.mix(base, palette.color(QPalette.ColorRole.Text), 0.18)
        if selected:
            base = theme.mix(base, theme.accent(palette), 0.18)
            edge = theme.accent(palette)
        painter.setPen(edge)
        painter.setBrush(base)
        painter.drawRoundedRect(outer, RADIUS, RADIUS)
        if focused and not selected:
            painter.setPen(theme.mix(edge, theme.accent(palette), 0.6))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(outer.adjusted(1, 1, -1, -1), RADIUS, RADIUS)

        inset = MARGIN + PAD
        box = rect.adjusted(inset, inset, -inset, -inset)
        font = QFont(option.font)
        metrics = QFontMetrics(font)
        line = metrics.height()
        text = palette.color(QPalette.ColorRole.Text)
        muted = theme.muted(palette)
        task = card.task

        # Line 1: pin, title, elapsed time.
        # Room for the elapsed time, drawn over the picture by paint().
        ran = card.run_started_at is not None
        right = metrics.horizontalAdvance(ELAPSED_TEMPLATE) + GAP if ran else 0
        x = box.left()
        if task.foreground:
            draw_pin(painter, QRectF(x, box.top(), PIN_WIDTH, line), theme.accent(palette))
            x += PIN_WIDTH + GAP
        bold = QFont(font)
        bold.setBold(True)
        painter.setFont(bold)
        title = f"#{task.id} {' '.join(task.title.split())}"
        painter.setPen(text)
        # Two lines for the title: the first beside the time, the second full width.
        bold_metrics = QFontMetrics(bold)
        first, rest = split_line(bold_metrics, title, box.right() - x - right)
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(QRect(x, box.top(), box.right() - x - right, line), align, first)
        if rest:
            width = box.right() - box.left()
            painter.drawText(
                QRect(box.left(), box.top() + line, width, line),
                align,
                bold_metrics.elidedText(rest, Qt.TextElideMode.ElideRight, width),
            )
        painter.setFont(font)

        # Line 3: phase badge, profile, checks.
        y = box.top() + TITLE_LINES * line + GAP
        x = box.left()
        label = fmt.waiting_label(card) or theme.phase_label(task)
        colour = theme.phase_color(palette, task.phase)
        badge_w = metrics.horizontalAdvance(label) + 10
        badge = QRectF(x, y, badge_w, line)
        painter.setPen(colour)
        painter.setBrush(theme.mix(base, colour, 0.15))
        painter.drawRoundedRect(badge, line / 2, line / 2)
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, label)
        x += badge_w + GAP * 2
        warning = fmt.overlap_badge(overlaps)
        if warning:
            danger = theme.danger(palette)
            warning_w = metrics.horizontalAdvance(warning) + 10
            pill = QRectF(x, y, warning_w, line)
            painter.setPen(danger)
            painter.setBrush(theme.mix(base, danger, 0.15))
            painter.drawRoundedRect(pill, line / 2, line / 2)
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, warning)
            x += warning_w + GAP * 2
        checks = fmt.check_label(card)
        checks_w = metrics.horizontalAdvance(checks) if checks else 0
        if checks:
            ok = card.check_status is CheckStatus.PASSED
            painter.setPen(theme.success(palette) if ok else theme.danger(palette))
            painter.drawText(
                QRect(box.right() - checks_w, y, checks_w, line),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                checks,
            )
        painter.setPen(muted)
        profile = card.profile_name or "no profile"
        if task.parent_id is not None:  # split from a bigger task's plan
            profile += f" · from #{task.parent_id}"
        width = box.right() - x - checks_w - GAP
        painter.drawText(
            QRect(x, y, width, line),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(profile, Qt.TextElideMode.ElideRight, width),
        )

        # Line 4: diff size, tokens and cost.
        y += line + GAP
        x = box.left()
        plus, minus, files = fmt.diff_parts(card)
        if plus:
            for piece, colour in (
                (plus, theme.success(palette)),
                (minus, theme.danger(palette)),
                (files, muted),
            ):
                painter.setPen(colour)
                width = metrics.horizontalAdvance(piece)
                painter.drawText(QRect(x, y, width + 1, line), Qt.AlignmentFlag.AlignLeft, piece)
                x += width + GAP
            if fmt.over_budget(card):
                painter.setPen(theme.danger(palette))
                bold = QFont(font)
                bold.setBold(True)
                painter.setFont(bold)
                width = QFontMetrics(bold).horizontalAdvance(fmt.OVER_BUDGET)
                painter.drawText(
                    QRect(x, y, width + 1, line), Qt.AlignmentFlag.AlignLeft, fmt.OVER_BUDGET
                )
                painter.setFont(font)
                x += width + GAP
        usage = fmt.usage_line(card)
        if usage:
            painter.setPen(muted)
            width = metrics.horizontalAdvance(usage)
            painter.drawText(
                QRect(box.right() - width, y, width + 1, line),
                Qt.AlignmentFlag.AlignRight,
                usage,
            )

        # The context-fill bar along the bottom, once a run has reported it.
        if card.context_fill > 0:
            track = QRectF(box.left(), box.bottom() - BAR + 1, box.width(), BAR)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.mix(base, muted, 0.35))
            painter.drawRoundedRect(track, BAR / 2, BAR / 2)
            filled = QRectF(track)
            filled.setWidth(track.width() * min(1.0, card.context_fill))
            painter.setBrush(theme.fill_color(palette, card.context_fill))
            painter.drawRoundedRect(filled, BAR / 2, BAR / 2)
        painter.restore()
