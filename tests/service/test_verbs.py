"""core/verbs.py: every verb can be served, and a function is named by its verb name."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from collections.abc import Callable
from typing import Any

import pytest

from seedbed import core
from seedbed.api.functions import register_functions
from seedbed.api.registry import Registry
from seedbed.core import tasks
from seedbed.core.context import Context
from seedbed.core.verb_names import VERB_NAMES, is_verb
from seedbed.core.verbs import NOT_VERBS, VERBS, verb_name


def test_every_verb_of_core_registers() -> None:
    registry = Registry()
    register_functions(registry, VERBS, lambda: None)
    assert sorted(registry) == sorted(VERBS)
    for name in VERBS:  # each verb's models are built when it is first asked for
        verb = registry.get(name)
        assert verb is not None and verb.name == name


def test_a_verb_is_named_by_its_function() -> None:
    assert verb_name(tasks.start_task) == "tasks.start_task"
    with pytest.raises(KeyError, match=r"seedbed\.core\.tasks\.check_task_options is not a verb"):
        verb_name(tasks.check_task_options)


def test_each_verb_is_named_by_its_own_module_and_name() -> None:
    """The window names a verb without importing core/verbs.py (core/verb_names.py): by
    the module it is defined in, which must be the one its name says."""
    assert len(set(VERB_NAMES)) == len(VERB_NAMES)
    assert {verb_name(function): name for name, function in VERBS.items()} == {
        name: name for name in VERB_NAMES
    }
    assert not is_verb(print)
    assert not is_verb(lambda: None)


def context_functions() -> list[Callable[..., Any]]:
    """Every public function of core whose first parameter is a Context."""
    found = []
    for info in pkgutil.iter_modules(core.__path__):
        module = importlib.import_module(f"seedbed.core.{info.name}")
        for name, function in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(function):
                continue
            if function.__module__ != module.__name__:
                continue
            parameters = list(inspect.signature(function).parameters)
            hints = typing.get_type_hints(function)
            if parameters and hints.get(parameters[0]) is Context:
                found.append(function)
    return found


def test_every_function_of_core_on_a_context_is_a_verb_or_says_why_not() -> None:
    functions = context_functions()
    assert tasks.create_task in functions  # the walk sees core
    left = [
        f"{f.__module__}.{f.__qualname__}"
        for f in functions
        if f not in VERBS.values() and f not in NOT_VERBS
    ]
    assert not left, f"add these to VERBS or NOT_VERBS in core/verbs.py: {left}"
    assert set(NOT_VERBS) <= set(functions)  # each reason is about a function that exists
    assert not set(NOT_VERBS) & set(VERBS.values())


def test_every_verb_works_on_a_context() -> None:
    on_context = set(context_functions())
    assert [name for name, f in VERBS.items() if f not in on_context] == []
