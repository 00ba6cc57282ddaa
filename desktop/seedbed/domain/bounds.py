"""A number checked against the model field it is for, and what is wrong with it in a few
words. The bounds themselves are declared on the models (domain/models.py); this only
reads them, so that the command line, the forms and the operations say the same thing."""

from __future__ import annotations

from functools import cache
from typing import Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from seedbed.domain.models import MAX_COUNT, MAX_SECONDS, MAX_USD, SQLITE_MAX_INT

# Caps that only keep absurd values out: said when passed, not as part of a range.
_CAPS = (MAX_COUNT, MAX_USD, MAX_SECONDS, SQLITE_MAX_INT)


def _metadata(info: FieldInfo) -> list[Any]:
    """The constraints of a field, or of its items for a list (`list[RowId]`)."""
    if get_origin(info.annotation) is list:
        for arg in get_args(info.annotation):
            for item in getattr(arg, "__metadata__", ()):
                if isinstance(item, FieldInfo):
                    return list(item.metadata)
    return list(info.metadata)


@cache
def field_bounds(model: type[BaseModel], name: str) -> tuple[float | None, bool, float | None]:
    """(lowest, whether the lowest itself is refused, highest) of a field."""
    low: float | None = None
    strict = False
    high: float | None = None
    for item in _metadata(model.model_fields[name]):
        if getattr(item, "ge", None) is not None:
            low, strict = item.ge, False
        if getattr(item, "gt", None) is not None:
            low, strict = item.gt, True
        if getattr(item, "le", None) is not None:
            high = item.le
    return low, strict, high


@cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    return TypeAdapter(info.rebuild_annotation())


def _number(value: float, per: float) -> str:
    if isinstance(value, int) and per == 1:
        return str(value)  # 2**63-1 as it is, not rounded through a float
    value = value / per
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def problem(model: type[BaseModel], name: str, error: ErrorDetails, per: float = 1.0) -> str:
    """What is wrong with a value of `model.name`, from pydantic's error about it: "must be
    at most 10", … (`per`: the unit the user typed in, e.g. 60 for minutes of seconds);
    "" when the error is not about a number."""
    kind = error["type"]
    if name not in model.model_fields:
        return ""
    if kind == "finite_number":
        return "must be a finite number"
    if kind.startswith("int_"):
        return "must be a whole number"
    if kind.startswith("float_"):
        return "must be a number"
    low, strict, high = field_bounds(model, name)
    if low is not None and high is not None and high not in _CAPS:
        if strict and (low, high) == (0, 1):
            return "must be a fraction above 0 and at most 1"
        above = f"above {_number(low, per)} and at most" if strict else f"{_number(low, per)} to"
        return f"must be {above} {_number(high, per)}"
    if kind.startswith("greater_than"):
        if strict:
            return "must be a positive number" if low == 0 else f"must be above {low}"
        return "must be 0 or more" if low == 0 else f"must be at least {_number(low or 0, per)}"
    if kind.startswith("less_than") and high is not None:
        return f"must be at most {_number(high, per)}"
    return ""


def check(model: type[BaseModel], name: str, value: Any, per: float = 1.0) -> None:
    """ValueError with `problem`'s words unless `value` (an item, for a list field) is one
    that `model.name` takes."""
    is_list = get_origin(model.model_fields[name].annotation) is list
    try:
        _adapter(model, name).validate_python([value] if is_list else value)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ValueError(problem(model, name, error, per) or str(error["msg"])) from None
