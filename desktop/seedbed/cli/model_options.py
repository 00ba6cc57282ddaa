"""Command-line options declared by a pydantic model's fields (STYLE.md "Settings"): each
option's type, choices and help come from its field, so a setting reaches `project set`
or `profile set` by being declared on the model, not by being written here again."""

from __future__ import annotations

import argparse
import math
import sys
import types
from collections.abc import Callable, Collection, Iterable, Mapping
from enum import StrEnum
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from seedbed.domain import bounds
from seedbed.domain.errors import UserError


def _plain(annotation: Any) -> Any:
    """`X | None` → X."""
    if get_origin(annotation) in (Union, types.UnionType):
        kept = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(kept) == 1:
            return kept[0]
    return annotation


def number(model: type[BaseModel], name: str, what: str, per: float = 1.0) -> Callable[[str], Any]:
    """An argparse `type` for a number that becomes `model.name` (times `per`: minutes for
    seconds): out of the bounds the model declares, it is one `error:` line naming `what`
    (the option), raised as UserError so that argparse does not reword it."""
    annotation = model.model_fields[name].annotation
    items = get_args(annotation) if get_origin(annotation) is list else ()
    kind = _plain(items[0] if items else annotation)
    kind = get_args(kind)[0] if get_args(kind) else kind  # Annotated[int, …] → int
    whole = kind is int

    def parse(text: str) -> Any:
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            a = "a whole number" if whole else "a number"
            raise UserError(f"{what} must be {a}, not {text!r}") from None
        scaled = value * per if per != 1 else value
        if math.isinf(scaled) and math.isfinite(value):
            scaled = sys.float_info.max  # 1e308 minutes: too many, not "not finite"
        try:
            bounds.check(model, name, scaled, per)
        except ValueError as exc:
            raise UserError(f"{what} {exc}, not {text}") from None
        return value

    return parse


def add_field_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    model: type[BaseModel],
    fields: Iterable[str],
    flags: Mapping[str, str] | None = None,
    metavars: Mapping[str, str] | None = None,
    text_fields: Collection[str] = (),
) -> None:
    """One option per field: `--field-name` (or `--<flags[field]>`), its value stored under
    the field's name, None when not given (so a change keeps what is not named, and a new
    object gets the model's default). A list field is a repeatable option; `text_fields`
    are taken as text whatever their type (a profile's name for a profile id)."""
    for name in fields:
        info = model.model_fields[name]
        flag = "--" + (flags or {}).get(name, name).replace("_", "-")
        kind = _plain(info.annotation)
        described = (info.description or "").replace("%", "%%")
        options: dict[str, Any] = {"dest": name, "default": None, "help": described}
        metavar = (metavars or {}).get(name)
        if name in text_fields:
            options.update(metavar=metavar or "TEXT", help=f'{described} ("": none)')
        elif get_origin(kind) is list:
            options.update(action="append", metavar=metavar or "VALUE")
            options["help"] = f"{described} (repeatable)"
        elif kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif isinstance(kind, type) and issubclass(kind, StrEnum):
            options["choices"] = [member.value for member in kind]
        elif kind in (int, float):
            options.update(
                type=number(model, name, flag), metavar=metavar or ("N" if kind is int else "X")
            )
        else:
            options["metavar"] = metavar or "TEXT"
        shown = name not in text_fields and get_origin(kind) is not list and kind is not bool
        if shown and info.default is not None and not info.is_required():
            default = info.default.value if isinstance(info.default, StrEnum) else info.default
            if default not in ("", 0, 0.0):
                said = f"{default:g}" if isinstance(default, float) else default
                options["help"] = f"{options['help']} (a new one gets {said})"
        parser.add_argument(flag, **options)


def given_fields(args: argparse.Namespace, fields: Iterable[str]) -> dict[str, Any]:
    """The fields whose options were given on the command line. A list leaves out empty
    values, so that `--copy ""` alone sets an empty list."""
    given = {name: getattr(args, name) for name in fields if getattr(args, name, None) is not None}
    return {
        name: [item for item in value if item] if isinstance(value, list) else value
        for name, value in given.items()
    }
