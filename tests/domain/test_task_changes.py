"""TaskChanges, the keywords of Store.update_task, follows the Task model it changes."""

from __future__ import annotations

from typing import get_type_hints

from seedbed.domain.models import Task, TaskChanges

NOT_CHANGED = {"id", "state", "created_at", "updated_at"}  # a move, or the store's own


def test_task_changes_has_every_task_field_but_the_id_state_and_times() -> None:
    assert set(TaskChanges.__annotations__) == set(Task.model_fields) - NOT_CHANGED
    assert not TaskChanges.__required_keys__


def test_task_changes_types_are_the_task_fields_types() -> None:
    # Without their constraints (get_type_hints drops Annotated): those the model checks.
    task_types = get_type_hints(Task)
    for name, kind in get_type_hints(TaskChanges).items():
        assert kind == task_types[name], name
