"""core/verbs.py: every verb can be served, and a function is named by its verb name."""

from __future__ import annotations

import pytest

from seedbed.api.functions import register_functions
from seedbed.api.registry import Registry
from seedbed.core import tasks
from seedbed.core.verbs import VERBS, verb_name


def test_every_verb_of_core_registers() -> None:
    registry = Registry()
    register_functions(registry, VERBS, lambda: None)
    assert sorted(registry) == sorted(VERBS)


def test_a_verb_is_named_by_its_function() -> None:
    assert verb_name(tasks.start_task) == "tasks.start_task"
    with pytest.raises(KeyError, match=r"seedbed\.core\.tasks\.check_task_options is not a verb"):
        verb_name(tasks.check_task_options)
