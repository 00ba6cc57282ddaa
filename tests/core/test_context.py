"""The verbs' context and the `Changed` a writing verb returns."""

from __future__ import annotations

from pathlib import Path

from seedbed.core.context import Changed, Context, Done
from seedbed.domain.models import Task


def test_a_context_opens_its_data_dir(tmp_path: Path) -> None:
    ctx = Context.open(tmp_path)
    assert ctx.data_dir == tmp_path
    assert ctx.store.list_projects() == []


def test_changes_add_up() -> None:
    both = Changed.task(1, 2) | Changed(projects=True) | Changed.task(2, 5)
    assert both == Changed(tasks=frozenset({1, 2, 5}), projects=True)
    assert not Changed()
    assert Changed(settings=True)


def test_done_round_trips_as_json() -> None:
    done = Done[Task](value=Task(project_id=1, title="t"), changed=Changed.task(7))
    again = Done[Task].model_validate_json(done.model_dump_json())
    assert again == done
    assert again.value.title == "t"
