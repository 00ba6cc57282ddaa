"""Paints a task card: no widget per card, so a column of 1,000 cards costs nothing."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    QSizeF,
    Qt,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from seedbed.domain.models import Card, CheckStatus
from seedbed.ui.board.board_model import Role
from seedbed.ui.board.card_layout import (
    BAR,
    MARGIN,
    PAD,
    Part,
    Placed,
    card_box,
    card_height,
    lay_out_card,
)
from seedbed.ui.common import format as fmt
from seedbed.ui.common import theme

RADIUS = 6.0
CACHE_CARDS = 300  # pictures kept: a few screens of cards, ~100 KB each
CACHE_ELAPSED = 1000  # elapsed times as drawn: a few per second of running
ELAPSED_ALIGN = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
BOLD_PARTS = frozenset({Part.TITLE, Part.TITLE_REST, Part.OVER_BUDGET})
PART_COLOURS: dict[Part, Callable[[QPalette], QColor]] = {
    Part.PLUS: theme.success,
    Part.MINUS: theme.danger,
    Part.OVER_BUDGET: theme.danger,
    Part.QUESTION: theme.warning,
}

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


def draw_shield(painter: QPainter, rect: QRectF, colour: QColor) -> None:
    """A shield (its agent runs in a sandbox): flat top, sides curving to a point."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    side = min(rect.width(), rect.height()) * 0.8
    left = rect.center().x() - side * 0.4
    top = rect.center().y() - side / 2
    width = side * 0.8
    path = QPainterPath(QPointF(left, top + side * 0.12))
    path.lineTo(left + width / 2, top)
    path.lineTo(left + width, top + side * 0.12)
    path.cubicTo(
        QPointF(left + width, top + side * 0.6),
        QPointF(left + width * 0.75, top + side * 0.85),
        QPointF(left + width / 2, top + side),
    )
    path.cubicTo(
        QPointF(left + width * 0.25, top + side * 0.85),
        QPointF(left, top + side * 0.6),
        QPointF(left, top + side * 0.12),
    )
    painter.setPen(QPen(colour, 1.2))
    painter.setBrush(QColor(colour.red(), colour.green(), colour.blue(), 70))
    painter.drawPath(path)
    painter.restore()


class CardDelegate(QStyledItemDelegate):
    """Draws title, profile, phase badge, elapsed time, diff size ("over budget" past the
    project's diff budget), checks, tokens and cost, the context-fill bar (amber from
    60 %, red from 85 %), a pin for foreground tasks and a "⚠ #12" badge when another
    task changes the same files; every colour comes from the view's palette."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.now = time.time
        # task id → (the Card it shows, size/state/palette/overlaps signature, its picture,
        # where its elapsed time goes)
        self._cache: OrderedDict[int, tuple[Card, tuple[object, ...], QPixmap, QRect | None]] = (
            OrderedDict()
        )
        # (elapsed time, font, width, palette) → its text as drawn and its colour
        self._elapsed: dict[tuple[str, str, int, int], tuple[str, QColor]] = {}

    def elapsed_spot(self, task_id: int) -> QRect | None:
        """Where the card last drawn for `task_id` shows its elapsed time, within the
        card's rect; None when it shows none or was not drawn yet."""
        cached = self._cache.get(task_id)
        return None if cached is None else cached[3]

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(200, 2 * MARGIN + 2 * PAD + card_height(option.font))

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
            pixmap, spot = cached[2], cached[3]
        else:
            pixmap = QPixmap((QSizeF(option.rect.size()) * ratio).toSize())
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            picture = QPainter(pixmap)
            spot = self._draw(picture, option, card, selected, focused, overlaps)
            picture.end()
            self._cache[card.task.id] = (card, signature, pixmap, spot)
            if len(self._cache) > CACHE_CARDS:
                self._cache.popitem(last=False)
        painter.drawPixmap(option.rect.topLeft(), pixmap)
        elapsed = fmt.card_elapsed(card, self.now())
        if elapsed and spot is not None:
            shown, colour = self._elapsed_text(elapsed, option.font, spot.width(), palette)
            painter.save()
            painter.setPen(colour)
            painter.setFont(option.font)
            painter.drawText(spot.translated(option.rect.topLeft()), ELAPSED_ALIGN, shown)
            painter.restore()

    def _elapsed_text(
        self, elapsed: str, font: QFont, width: int, palette: QPalette
    ) -> tuple[str, QColor]:
        """The elapsed time as drawn (elided to `width`) and its colour: the same few
        every second for every running card, so worked out once."""
        key = (elapsed, font.key(), width, palette.cacheKey())
        found = self._elapsed.get(key)
        if found is None:
            metrics = QFontMetrics(font)
            shown = metrics.elidedText(elapsed, Qt.TextElideMode.ElideLeft, width)
            found = (shown, theme.muted(palette))
            if len(self._elapsed) >= CACHE_ELAPSED:
                self._elapsed.clear()
            self._elapsed[key] = found
        return found

    @staticmethod
    def _layout(
        option: QStyleOptionViewItem,
        card: Card,
        overlaps: list[tuple[int, list[str]]],
        box: QRect,
    ) -> list[Placed]:
        badge = fmt.badge_label(card, theme.phase_label(card.task))
        return lay_out_card(card, overlaps, option.font, box, badge)

    def _draw(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        card: Card,
        selected: bool,
        focused: bool,
        overlaps: list[tuple[int, list[str]]],
    ) -> QRect | None:
        """Everything but the elapsed time, into a pixmap the size of the card; returns
        where the elapsed time goes (None: nowhere)."""
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

        box = card_box(rect)
        font = QFont(option.font)
        bold = QFont(font)
        bold.setBold(True)
        text = palette.color(QPalette.ColorRole.Text)
        muted = theme.muted(palette)
        danger = theme.danger(palette)
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        elapsed: QRect | None = None
        for part, spot, shown in self._layout(option, card, overlaps, box):
            painter.setFont(bold if part in BOLD_PARTS else font)
            if part is Part.PIN:
                draw_pin(painter, QRectF(spot), theme.accent(palette))
            elif part is Part.SHIELD:
                draw_shield(painter, QRectF(spot), theme.success(palette))
            elif part in (Part.TITLE, Part.TITLE_REST):
                painter.setPen(text)
                painter.drawText(spot, align, shown)
            elif part in (Part.BADGE, Part.OVERLAP):
                colour = theme.phase_color(palette, card.task.phase)
                if part is Part.OVERLAP:
                    colour = danger
                pill = QRectF(spot)
                radius = pill.height() / 2
                painter.setPen(colour)
                painter.setBrush(theme.mix(base, colour, 0.15))
                painter.drawRoundedRect(pill, radius, radius)
                painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, shown)
            elif part is Part.CHECKS:
                ok = card.check_status is CheckStatus.PASSED
                painter.setPen(theme.success(palette) if ok else danger)
                right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                painter.drawText(spot, right, shown)
            elif part is Part.BAR:
                track = QRectF(spot)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(theme.mix(base, muted, 0.35))
                painter.drawRoundedRect(track, BAR / 2, BAR / 2)
                filled = QRectF(track)
                filled.setWidth(track.width() * min(1.0, card.context_fill))
                painter.setBrush(theme.fill_color(palette, card.context_fill))
                painter.drawRoundedRect(filled, BAR / 2, BAR / 2)
            elif part is Part.ELAPSED:  # painted live by paint()
                elapsed = spot
            else:
                painter.setPen(PART_COLOURS.get(part, theme.muted)(palette))
                painter.drawText(spot, align, shown)
        painter.restore()
        return elapsed
