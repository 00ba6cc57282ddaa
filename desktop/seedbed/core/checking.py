"""Settings checked for the user: a model built from what they gave, or an error that
names the field at fault in their words (a flag, or a form's label). Light to import:
the command line's lists use it."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from seedbed.domain import bounds
from seedbed.domain.errors import UserError
from seedbed.domain.models import Model


class InvalidField(UserError):
    """A setting the user must change; `field` names the model's field ("" when the
    problem is not one field's), so a form can show the message next to it."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def checked(model: type[Model], data: dict[str, Any], what: str, flags: bool = True) -> Any:
    """`model` from `data`, or InvalidField naming the first field at fault: "--fix-rounds
    must be 0 to 10", or without `flags` (for a form) "the fix rounds must be 0 to 10"
    (the bounds are the model's, domain/bounds.py words them); `what` names the model for
    an error that is not about a number ("invalid profile: …")."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        said = bounds.problem(model, field, error)
        named = flag_name(field) if flags else f"the {field.replace('_', ' ')}"
        message = f"{named} {said}" if said else f"invalid {what}: {error['msg']}"
        raise InvalidField(message, field) from None


def flag_name(field: str) -> str:
    """The command-line flag of a model's field: `fix_rounds` → `--fix-rounds`."""
    return "--" + field.replace("_", "-")
