"""The log list's parts: the row painter, the list itself and the find bar."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QFontMetrics,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QWidget,
)

from seedbed.ui.common import theme
from seedbed.ui.log.log_model import LogModel, Role
from seedbed.ui.log.log_render import WAITING_LINE, Line, Tone

CACHE_ROWS = 400  # row pictures kept: a few screens

Index = QModelIndex | QPersistentModelIndex

# Flags as plain ints and combined once: an operation on a Qt enum from Python builds a
# new enum member (several microseconds), a dozen per painted row.
SELECTED = QStyle.StateFlag.State_Selected.value
FOCUSED = QStyle.StateFlag.State_HasFocus.value
HOVERED = QStyle.StateFlag.State_MouseOver.value
ALIGN = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
ALIGN_ONE_LINE = ALIGN | Qt.TextFlag.TextSingleLine


class LogDelegate(QStyledItemDelegate):
    """Paints a row: its marker in a gutter, then its line in its tone's colour, elided.

    Every row has the same height (the taller of the text and monospace fonts, see
    `row_height`), which is what lets the view lay out a million rows at once. Colours
    and fonts are set by `set_style`, again whenever the palette or font changes.
    """

    def __init__(self, view: QWidget | None = None) -> None:
        super().__init__(view)
        self._view = view
        self._colors: dict[Tone, QColor] = {}
        self._fonts: dict[bool, tuple[QFont, QFontMetrics]] = {}
        self._widest: dict[bool, int] = {}  # the widest printable ASCII glyph, per font
        self._height = 18
        self._gutter = 40
        # What a row was drawn from (its line, size and state) → its picture (None: drawn
        # once, no picture yet): a few screens of rows; rows alike (every "…"
        # placeholder) share one.
        self._pictures: OrderedDict[tuple[object, ...], QPixmap | None] = OrderedDict()
        self.set_style(QApplication.palette(), QApplication.font(), mono_font())

    def set_style(self, palette: QPalette, font: QFont, mono: QFont) -> None:
        self._colors = tone_colors(palette)
        self._fonts = {False: (font, QFontMetrics(font)), True: (mono, QFontMetrics(mono))}
        self._widest = {
            key: max(metrics.horizontalAdvance(chr(c)) for c in range(32, 127))
            for key, (_font, metrics) in self._fonts.items()
        }
        self._height = max(m.height() for _f, m in self._fonts.values()) + 4
        self._gutter = self._fonts[True][1].horizontalAdvance("check") + 10
        self._pictures = OrderedDict()  # drawn with the old fonts and colours
        self.sizeHintChanged.emit(QModelIndex())

    def row_height(self) -> int:
        return self._height

    def color(self, tone: Tone) -> QColor:
        return QColor(self._colors[tone])

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(1, self._height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        """Draw the row, or the picture kept of it (made when painted again).

        Rows never change once stored, and while twenty agents stream, the window's
        client thread competes with this one for the GIL: every Qt call made from Python
        here can wait for it. One drawPixmap for a row painted before, instead of a
        dozen calls, keeps a full repaint cheap. A row painted only once, as each new
        row of a followed log is (it scrolls in, then out, the view moving the pixels),
        is drawn straight: a picture would cost more calls than it saves.
        """
        model = index.model()
        # Straight to the model: no QVariant round trip for each painted row. A row whose
        # page is on its way shows a placeholder; the model repaints it when it comes.
        if isinstance(model, LogModel):
            line = model.line_at(index.row()) or WAITING_LINE
        else:
            line = index.data(Role.LINE)
        if not isinstance(line, Line):
            return
        rect: QRect = option.rect  # type: ignore[attr-defined]
        device = painter.device()
        ratio = device.devicePixelRatioF() if device else 1.0
        width, height = rect.width(), rect.height()
        signature = (
            line,
            width,
            height,
            option.state.value & (SELECTED | FOCUSED | HOVERED),  # type: ignore[attr-defined]
            option.palette.cacheKey(),  # type: ignore[attr-defined]
            ratio,
        )
        if signature not in self._pictures:  # first seen: drawn straight, kept next time
            self._pictures[signature] = None
            if len(self._pictures) > CACHE_ROWS:
                self._pictures.popitem(last=False)
            self._draw(painter, option, line, rect)
            return
        pixmap = self._pictures[signature]
        if pixmap is None:
            pixmap = QPixmap(round(width * ratio), round(height * ratio))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            picture = QPainter(pixmap)
            self._draw(picture, option, line, QRect(0, 0, width, height))
            picture.end()
            self._pictures[signature] = pixmap
        self._pictures.move_to_end(signature)
        painter.drawPixmap(rect.topLeft(), pixmap)

    def _draw(
        self, painter: QPainter, option: QStyleOptionViewItem, line: Line, rect: QRect
    ) -> None:
        state = option.state.value  # type: ignore[attr-defined]
        # A row neither selected, current nor hovered has no panel to draw (the view
        # paints its background; this delegate sets no background brush).
        if state & (SELECTED | FOCUSED | HOVERED):
            widget = self._view
            style = widget.style() if widget is not None else QApplication.style()
            panel = QStyleOptionViewItem(option)
            panel.rect = rect  # type: ignore[attr-defined]
            style.drawPrimitive(
                QStyle.PrimitiveElement.PE_PanelItemViewItem, panel, painter, widget
            )
        rect = rect.adjusted(4, 0, -4, 0)
        if state & SELECTED:
            color = muted = option.palette.color(  # type: ignore[attr-defined]
                QPalette.ColorRole.HighlightedText
            )
        else:
            color, muted = self._colors[line.tone], self._colors[Tone.MUTED]
        if line.marker:
            painter.setFont(self._fonts[True][0])
            painter.setPen(color if line.tone is Tone.ERROR else muted)
            painter.drawText(
                rect.adjusted(0, 0, self._gutter - rect.width(), 0), ALIGN, line.marker
            )
        font, metrics = self._fonts[line.mono]
        painter.setFont(font)
        painter.setPen(color)
        text_rect = rect.adjusted(self._gutter, 0, 0, 0)
        text = line.text
        room = text_rect.width()
        # Most lines fit: ASCII text no wider than its length in the font's widest glyph
        # (one spare for kerning) needs no measuring.
        if not (text.isascii() and (len(text) + 1) * self._widest[line.mono] <= room):
            text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, room)
        painter.drawText(text_rect, ALIGN_ONE_LINE, text)


def tone_colors(palette: QPalette) -> dict[Tone, QColor]:
    """A colour per tone that reads on this palette's base, light or dark."""
    text = palette.color(QPalette.ColorRole.Text)
    base = palette.color(QPalette.ColorRole.Base)
    dark = base.lightnessF() < 0.5
    muted = QColor(text)
    muted.setAlphaF(0.6)
    link = palette.color(QPalette.ColorRole.Link)
    if abs(link.lightnessF() - base.lightnessF()) < 0.35:  # some dark themes keep a dark link
        link = link.lighter(180) if dark else link.darker(160)
    return {
        Tone.NORMAL: text,
        Tone.MUTED: muted,
        Tone.TOOL: link,
        Tone.WARNING: theme.warning(palette),
        Tone.ERROR: theme.danger(palette),
    }


class LogList(QTableView):
    """The list of rows: one column, no headers, no grid, every row the same height.

    A table view, not a QListView with `setUniformItemSizes(True)`: both paint only
    the visible rows, but QListView's layout still asks the model for every row's index
    (two calls into Python per row, 1.5 s for a million rows), while a table keeps its
    rows as fixed-size header sections, laid out in C++ without asking the model (a
    million-row run opens and paints in about 20 ms).

    Signals: copy_requested() (Ctrl+C), detail_requested() (Enter).
    """

    copy_requested = Signal()
    detail_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.horizontalHeader().hide()
        self.horizontalHeader().setStretchLastSection(True)
        rows = self.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTabKeyNavigation(False)

    def restyle(self) -> None:
        """Give the delegate this view's palette and fonts, and its rows their height."""
        delegate = self.itemDelegate()
        if isinstance(delegate, LogDelegate):
            delegate.set_style(self.palette(), self.font(), mono_font())
            self.verticalHeader().setMinimumSectionSize(1)
            self.verticalHeader().setDefaultSectionSize(delegate.row_height())
        self.viewport().update()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange):
            self.restyle()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_requested.emit()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.detail_requested.emit()
        else:
            super().keyPressEvent(event)


class FindBar(QWidget):
    """A search field: Enter finds the next match, Shift+Enter the previous, Esc closes.

    Signals: search_requested(str, bool backward), closed().
    """

    search_requested = Signal(str, bool)
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Find in this run")
        self.edit.setClearButtonEnabled(True)
        self.edit.installEventFilter(self)
        self.status = QLabel(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.status)
        for text, tip, backward in (("↑", "Previous (Shift+Enter)", True), ("↓", "Next", False)):
            button = QToolButton(self)
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, b=backward: self._request(b))
            layout.addWidget(button)
        close = QToolButton(self)
        close.setText("✕")
        close.setToolTip("Close (Esc)")
        close.clicked.connect(self.closed)
        layout.addWidget(close)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.edit and isinstance(event, QKeyEvent):
            if event.type() != QEvent.Type.KeyPress:
                return False
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._request(bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.closed.emit()
                return True
        return super().eventFilter(watched, event)

    def _request(self, backward: bool) -> None:
        if self.edit.text():
            self.search_requested.emit(self.edit.text(), backward)


class NoteLabel(QLabel):
    """A muted italic line under the list ("writing…", or why the list is empty),
    hidden while it has nothing to say; recoloured when the palette changes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.hide()
        self._restyle()

    def set_note(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange):
            self._restyle()
        super().changeEvent(event)

    def _restyle(self) -> None:
        muted = QColor(self.palette().color(QPalette.ColorRole.Text))
        muted.setAlphaF(0.65)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.WindowText, muted)
        # Setting what is already set sends no new change event: no loop.
        self.setPalette(palette)
        font = QFont(self.font())
        font.setItalic(True)
        self.setFont(font)


def mono_font() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def tool_button(parent: QWidget, text: str, tip: str, checkable: bool = False) -> QToolButton:
    button = QToolButton(parent)
    button.setText(text)
    button.setToolTip(tip)
    button.setCheckable(checkable)
    return button
