"""A verb of the API made from a plain typed function `verb(ctx, a: int, b: str = "") -> R`.

The application layer's verbs are ordinary functions (core/); the engine serves them and
a client calls them by the same function, so their parameters and results are declared
once, by the function's own annotations:

- `FunctionVerb.params` is a pydantic model of every parameter after the first (the
  context, which each side supplies itself), with the function's defaults;
- `FunctionVerb.result` validates what it returns (the return annotation);
- `bind()` turns the arguments of a call, as the caller wrote it, into those params, so a
  caller that ran `verb(ctx, 3, b="x")` in-process sends `{"a": 3, "b": "x"}` instead.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model

from seedbed.api.registry import Registry


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


@dataclass(frozen=True)
class FunctionVerb:
    """One function as a verb: its name, its params model, its result type."""

    name: str
    function: Callable[..., Any]
    params: type[BaseModel]
    result: TypeAdapter[Any]
    result_type: Any

    def bind(self, *args: Any, **kwargs: Any) -> BaseModel:
        """The params of a call written `function(ctx, *args, **kwargs)`, without the ctx.
        Raises TypeError as the function would for arguments it does not take."""
        bound = _signature(self.function).bind(None, *args, **kwargs)
        values = dict(bound.arguments)
        values.pop(next(iter(values)))  # the context
        return self.params.model_validate(values)

    def apply(self, ctx: Any, params: BaseModel) -> Any:
        """Run the function on `ctx` and validated params (what the engine does)."""
        return self.function(
            ctx, **{name: getattr(params, name) for name in self.params.model_fields}
        )


@cache
def _signature(function: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(function)


@cache
def function_verb(name: str, function: Callable[..., Any]) -> FunctionVerb:
    """The verb of `function`, whose first parameter is the context. Every other parameter
    must be annotated (and be something pydantic can read), and so must its return."""
    hints = typing.get_type_hints(function)
    parameters = list(inspect.signature(function).parameters.values())
    if not parameters:
        raise TypeError(f"{function.__qualname__} takes no context")
    fields: dict[str, Any] = {}
    for parameter in parameters[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"{function.__qualname__}: *args and **kwargs cannot be sent")
        if parameter.name not in hints:
            raise TypeError(f"{function.__qualname__}: {parameter.name} has no annotation")
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[parameter.name] = (hints[parameter.name], default)
    if "return" not in hints:
        raise TypeError(f"{function.__qualname__} has no return annotation")
    model_name = "".join(part.title() for part in name.replace(".", "_").split("_"))
    params = create_model(f"{model_name}Params", __base__=_Params, **fields)
    result_type = hints["return"]
    return FunctionVerb(name, function, params, TypeAdapter(result_type), result_type)


def register_functions(
    registry: Registry,
    verbs: dict[str, Callable[..., Any]],
    context: Callable[[], Any],
    on_result: Callable[[Any], None] | None = None,
    waiting: frozenset[str] = frozenset(),
    translate: Callable[[Exception], Exception | None] | None = None,
) -> None:
    """Add each function of `verbs` (by name) to the registry, called with `context()`:
    a callable, so each call (on its worker thread) can get the context it may use.
    `on_result(value)`, when given, sees what each call returned (on its worker thread)
    before it is sent: the engine publishes what a verb says it changed. The verbs named
    in `waiting` may wait long without working: they get a pool of their own.
    `translate(exc)` may give an error the client is to see instead (a full disk said in
    words, as the command line says it in-process); None keeps the error as it is.
    Each verb's models are built when it is first called (`Registry.add_later`)."""

    def add(name: str, function: Callable[..., Any]) -> None:
        verb = function_verb(name, function)
        call = functools.partial(_run, verb, context, on_result, translate)
        registry.add(name, verb.params, verb.result_type, call, waits=name in waiting)

    for name, function in verbs.items():
        registry.add_later(name, functools.partial(add, name, function))


def _run(
    verb: FunctionVerb,
    context: Callable[[], Any],
    on_result: Callable[[Any], None] | None,
    translate: Callable[[Exception], Exception | None] | None,
    params: BaseModel,
) -> Any:
    try:
        value = verb.apply(context(), params)
    except Exception as exc:
        worded = translate(exc) if translate is not None else None
        if worded is None:
            raise
        raise worded from exc
    if on_result is not None:
        on_result(value)
    return value
