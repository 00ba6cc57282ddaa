"""A form built from a pydantic model's field declarations (STYLE.md "Settings").

Each field's type picks its editor, its bounds (`ge`/`le`/`gt`/`lt`) the editor's range,
its description the tooltip and the grey hint under it. Nothing about one field is
written twice: a new setting appears in the dialog by being declared on its model.
"""

from __future__ import annotations

import re
import shlex
import types
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from seedbed.core.checking import InvalidField
from seedbed.domain import bounds
from seedbed.ui.common.widgets import ErrorLabel

INT_LIMIT = 2**31 - 1
FLOAT_LIMIT = 1e12
DECIMALS = 4
NONE_TEXT = "none"
ACRONYMS = {"url": "URL", "api": "API", "id": "ID"}


class DecimalSpinBox(QDoubleSpinBox):
    """A QDoubleSpinBox that shows 600 rather than 600.0000."""

    def textFromValue(self, value: float) -> str:
        if self.specialValueText() and value == self.minimum():
            return self.specialValueText()
        locale = self.locale()
        text = locale.toString(value, "f", self.decimals())
        if not self.isGroupSeparatorShown():
            text = text.replace(locale.groupSeparator(), "")
        point = locale.decimalPoint()
        return text.rstrip("0").rstrip(point) if point in text else text


@dataclass
class _Row:
    """One field's editor and how to read and write it."""

    name: str
    kind: str  # int, float, bool, enum, choice, str, list, shell, dict
    editor: QWidget
    error: ErrorLabel
    optional: bool = False
    choices: tuple[Any, ...] = ()


def humanize(name: str) -> str:
    words = [ACRONYMS.get(word, word) for word in name.split("_")]
    first = words[0] if words[0] in ACRONYMS.values() else words[0].capitalize()
    return " ".join([first, *words[1:]])


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) == 1 and len(args) < len(get_args(annotation)):
            return args[0], True
    return annotation, False


def _bounds(info: FieldInfo, step: float) -> tuple[float | None, float | None]:
    low: float | None = None
    high: float | None = None
    for item in info.metadata:
        if getattr(item, "ge", None) is not None:
            low = item.ge
        if getattr(item, "gt", None) is not None:
            low = item.gt + step
        if getattr(item, "le", None) is not None:
            high = item.le
        if getattr(item, "lt", None) is not None:
            high = item.lt - step
    return low, high


def split_list(text: str, shell: bool) -> list[str]:
    """A list field's text as values: shell words, or comma/space separated."""
    if shell:
        return shlex.split(text)
    return [part for part in re.split(r"[,\s]+", text.strip()) if part]


def join_list(values: Sequence[str], shell: bool) -> str:
    return shlex.join(values) if shell else ", ".join(values)


def split_pairs(text: str) -> dict[str, str]:
    """A dict field's text, shell words of NAME=VALUE, as a dict; ValueError for a word
    without `=` (not quoting it: a value may be a secret)."""
    pairs: dict[str, str] = {}
    for word in shlex.split(text):
        name, equals, value = word.partition("=")
        if not equals or not name:
            raise ValueError("write each as NAME=VALUE")
        pairs[name] = value
    return pairs


def join_pairs(values: dict[str, str]) -> str:
    return shlex.join(f"{name}={value}" for name, value in values.items())


class ModelForm(QWidget):
    """A QFormLayout with one editor per named field of a pydantic model.

    `values()` reads the editors as field values, `set_values()` loads an instance,
    `validate()` builds an instance and shows what pydantic refuses next to the field
    concerned (never raising). Errors from elsewhere go next to their field through
    `show_error()`.

    Signals:
        changed(): the user edited a field (not sent by `set_values`).
    """

    changed = Signal()

    def __init__(
        self,
        model: type[BaseModel],
        fields: Sequence[str],
        parent: QWidget | None = None,
        choices: dict[str, list[tuple[Any, str]]] | None = None,
    ) -> None:
        """`choices`: fields edited by picking one of these (value, label) pairs (a
        profile for a profile id, say)."""
        super().__init__(parent)
        self.model = model
        self.fields = list(fields)
        self._choices = choices or {}
        self._rows: dict[str, _Row] = {}
        self._loading = False
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name in self.fields:
            info = model.model_fields[name]
            row = self._make_row(name, info)
            self._rows[name] = row
            label = humanize(name.removesuffix("_id") if name in self._choices else name)
            layout.addRow(label, self._cell(row, info.description or ""))
        self.form_error = ErrorLabel(self)
        layout.addRow(self.form_error)
        self._load_defaults()

    # -- building ----------------------------------------------------------------------

    def _make_row(self, name: str, info: FieldInfo) -> _Row:
        annotation, optional = _unwrap_optional(info.annotation)
        error = ErrorLabel(self)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        editor: QWidget
        if name in self._choices:
            editor = QComboBox(self)
            for _value, label in self._choices[name]:
                editor.addItem(label)
            editor.currentIndexChanged.connect(self._on_editor_changed)
            values = tuple(value for value, _label in self._choices[name])
            return _Row(name, "choice", editor, error, optional, values)
        if annotation is bool:
            editor = QCheckBox(self)
            editor.toggled.connect(self._on_editor_changed)
            return _Row(name, "bool", editor, error)
        if annotation is int:
            editor = QSpinBox(self)
            low, high = _bounds(info, 1)
            floor = 0 if optional else -INT_LIMIT
            editor.setRange(
                int(floor if low is None else low), int(INT_LIMIT if high is None else high)
            )
            self._make_optional(editor, optional)
            editor.valueChanged.connect(self._on_editor_changed)
            return _Row(name, "int", editor, error, optional)
        if annotation is float:
            editor = DecimalSpinBox(self)
            editor.setDecimals(DECIMALS)
            low, high = _bounds(info, 10**-DECIMALS)
            default = info.default if isinstance(info.default, float) else 0.0
            editor.setSingleStep(0.05 if 0 < default < 1 else 1.0)
            lowest = 0.0 if optional else -FLOAT_LIMIT
            editor.setRange(lowest if low is None else low, FLOAT_LIMIT if high is None else high)
            self._make_optional(editor, optional)
            editor.valueChanged.connect(self._on_editor_changed)
            return _Row(name, "float", editor, error, optional)
        if isinstance(annotation, type) and issubclass(annotation, StrEnum):
            editor = QComboBox(self)
            choices: tuple[Any, ...] = ((None,) if optional else ()) + tuple(annotation)
            for choice in choices:
                editor.addItem("" if choice is None else choice.value)
            editor.currentIndexChanged.connect(self._on_editor_changed)
            return _Row(name, "enum", editor, error, optional, choices)
        if annotation is str or (get_origin(annotation) is list and get_args(annotation) == (str,)):
            editor = QLineEdit(self)
            editor.textEdited.connect(self._on_editor_changed)
            kind = "str" if annotation is str else "list"
            if kind == "list" and extra.get("split") == "shell":
                kind = "shell"
            return _Row(name, kind, editor, error, optional)
        if get_origin(annotation) is dict and get_args(annotation) == (str, str):
            editor = QLineEdit(self)
            editor.setPlaceholderText("NAME=VALUE …")
            editor.textEdited.connect(self._on_editor_changed)
            return _Row(name, "dict", editor, error, optional)
        raise TypeError(f"{self.model.__name__}.{name}: no editor for {info.annotation!r}")

    @staticmethod
    def _make_optional(editor: QSpinBox | QDoubleSpinBox, optional: bool) -> None:
        """An optional number reads None at its minimum, shown as "none"."""
        if optional:
            editor.setSpecialValueText(NONE_TEXT)

    def _cell(self, row: _Row, description: str) -> QWidget:
        cell = QWidget(self)
        box = QVBoxLayout(cell)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        box.addWidget(row.editor)
        if description:
            row.editor.setToolTip(description)
            hint = QLabel(description, cell)
            hint.setWordWrap(True)
            hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            font = hint.font()
            font.setPointSizeF(font.pointSizeF() * 0.9)
            hint.setFont(font)
            box.addWidget(hint)
        box.addWidget(row.error)
        return cell

    # -- reading and writing -----------------------------------------------------------

    def editor(self, name: str) -> QWidget:
        return self._rows[name].editor

    def values(self) -> dict[str, Any]:
        """The editors' values by field name; InvalidField for text that cannot be read
        (a list with an unclosed quote)."""
        return {name: self._read(row) for name, row in self._rows.items()}

    def _read(self, row: _Row) -> Any:
        editor = row.editor
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QSpinBox | QDoubleSpinBox):
            if row.optional and editor.value() == editor.minimum():
                return None
            return editor.value()
        if isinstance(editor, QComboBox):
            return row.choices[editor.currentIndex()] if editor.currentIndex() >= 0 else None
        assert isinstance(editor, QLineEdit)
        if row.kind == "str":
            return editor.text()
        try:
            if row.kind == "dict":
                return split_pairs(editor.text())
            return split_list(editor.text(), row.kind == "shell")
        except ValueError as exc:
            raise InvalidField(f"cannot read this list: {exc}", row.name) from None

    def set_values(self, instance: BaseModel) -> None:
        """Show `instance`'s values (errors cleared; `changed` not emitted)."""
        self._loading = True
        try:
            for name, row in self._rows.items():
                self._write(row, getattr(instance, name))
        finally:
            self._loading = False
        self.clear_errors()

    def _load_defaults(self) -> None:
        self._loading = True
        try:
            for name, row in self._rows.items():
                info = self.model.model_fields[name]
                if not info.is_required():
                    self._write(row, info.get_default(call_default_factory=True))
        finally:
            self._loading = False

    def _write(self, row: _Row, value: Any) -> None:
        editor = row.editor
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QSpinBox):
            editor.setValue(editor.minimum() if value is None else int(value))
        elif isinstance(editor, QDoubleSpinBox):
            editor.setValue(editor.minimum() if value is None else float(value))
        elif isinstance(editor, QComboBox):
            editor.setCurrentIndex(row.choices.index(value) if value in row.choices else -1)
        elif isinstance(editor, QLineEdit) and row.kind == "dict":
            editor.setText(join_pairs(value))
        elif isinstance(editor, QLineEdit):
            editor.setText(value if row.kind == "str" else join_list(value, row.kind == "shell"))

    def validate(self, base: dict[str, Any] | None = None) -> BaseModel | None:
        """An instance of the model from `base` updated with the editors' values, or None
        with every problem shown next to its field."""
        self.clear_errors()
        try:
            data = {**(base or {}), **self.values()}
            return self.model.model_validate(data)
        except InvalidField as exc:
            self.show_error(exc.field, str(exc))
        except ValidationError as exc:
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else ""
                said = bounds.problem(self.model, field, error)  # as the CLI words it
                self.show_error(field, said or error["msg"])
        return None

    # -- errors ------------------------------------------------------------------------

    def show_error(self, field: str, message: str) -> None:
        """`message` next to `field`, or under the form when it is not one of its fields."""
        row = self._rows.get(field)
        target = row.error if row is not None else self.form_error
        text = target.text()
        target.show_message(f"{text}\n{message}" if text else message)

    def clear_errors(self) -> None:
        for row in self._rows.values():
            row.error.show_message("")
        self.form_error.show_message("")

    def error(self, field: str = "") -> str:
        """The message shown next to `field` ("" for the form's own), for tests."""
        row = self._rows.get(field)
        return (row.error if row is not None else self.form_error).text()

    @Slot()
    def _on_editor_changed(self) -> None:
        if self._loading:
            return
        sender = self.sender()
        for row in self._rows.values():
            if row.editor is sender:
                row.error.show_message("")
        self.changed.emit()
