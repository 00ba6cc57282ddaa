"""One way a task is made (`create_task`) and one way it is edited (`edit_task`): every
check runs before anything is written, so a refusal leaves no task (or no change)
behind; and each verb says what it changed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from seedbed.core.context import Changed, Context
from seedbed.core.projects import remove_project
from seedbed.core.setup import add_profile, add_project
from seedbed.core.tasks import (
    MAX_FOREGROUND,
    TaskBudget,
    TaskDraft,
    TaskOptions,
    create_task,
    edit_task,
    move_before,
    set_foreground,
)
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentKind, Phase, RunKind, TaskState


@pytest.fixture
def ctx(data_dir: Path, repo: Path) -> Iterator[Context]:
    ctx = Context.open(data_dir)
    add_project(ctx, repo, name="demo")
    try:
        yield ctx
    finally:
        ctx.store.close()


def with_profile(ctx: Context) -> None:
    add_profile(ctx, "worker", AgentKind.COMMAND, {"command": "true"})


def test_a_task_is_made_whole_and_says_so(ctx: Context) -> None:
    with_profile(ctx)
    first = create_task(ctx, TaskDraft(project="demo", title="First")).value
    done = create_task(
        ctx,
        TaskDraft(
            project="demo",
            title="Second",
            prompt="do it",
            start=True,
            foreground=True,
            auto_approve_plan=True,
            after=[first.id],
            reviewer="worker",
            budget=TaskBudget(budget_usd=2.5),
        ),
    )
    task = done.value
    assert done.changed == Changed.task(task.id)
    assert ctx.store.get_task(task.id) == task
    assert (task.state, task.phase) == (TaskState.RUNNING, Phase.QUEUED)
    assert task.pending_kind is RunKind.PLAN  # auto-approving a plan means planning first
    assert task.plan_first and task.auto_approve_plan and task.foreground
    assert task.after == [first.id] and task.budget_usd == 2.5
    assert task.reviewer_profile_id == ctx.store.find_profile("worker").id


@pytest.mark.parametrize(
    ("draft", "refusal"),
    [
        # The refusals the dialog's add-then-update-then-start used to meet after the
        # task was written, and `task add --start` too: a start that is refused.
        ({"start": True}, "has no agent profile"),
        ({"after": [99]}, "no task"),
        ({"reviewer": "nobody"}, "nobody"),
        ({"planner": "nobody"}, "nobody"),
        ({"profile": "nobody"}, "nobody"),
        ({"title": "  "}, "title is empty"),
        ({"prompt": "a\0b"}, "NUL"),
    ],
)
def test_a_refused_task_leaves_nothing_behind(
    ctx: Context, draft: dict[str, object], refusal: str
) -> None:
    with pytest.raises(UserError, match=refusal):
        create_task(ctx, TaskDraft.model_validate({"project": "demo", "title": "T", **draft}))
    assert ctx.store.list_tasks() == []


def test_no_room_to_pin_leaves_nothing_behind(ctx: Context) -> None:
    for n in range(MAX_FOREGROUND):
        create_task(ctx, TaskDraft(project="demo", title=f"Pinned {n}", foreground=True))
    with pytest.raises(UserError, match="pinned to the foreground already"):
        create_task(ctx, TaskDraft(project="demo", title="One more", foreground=True))
    assert len(ctx.store.list_tasks()) == MAX_FOREGROUND


def test_the_dialogs_options_say_none_where_the_command_line_says_the_projects(
    ctx: Context,
) -> None:
    with_profile(ctx)
    project = ctx.store.find_project("demo")
    ctx.store.update_project(project.model_copy(update={"reviewer_profile_id": 1}))
    from_cli = create_task(ctx, TaskDraft(project="demo", title="Default")).value
    options = TaskOptions(reviewer=None, auto_merge=True)
    from_dialog = create_task(ctx, TaskDraft.with_options(project.id, "None", options)).value
    assert from_cli.reviewer_profile_id == 1
    assert from_dialog.reviewer_profile_id is None and from_dialog.auto_merge


def test_a_draft_holds_its_bounds() -> None:
    with pytest.raises(ValidationError):
        TaskDraft(project="demo", title="T", budget=TaskBudget(budget_usd=-1))
    with pytest.raises(ValidationError):
        TaskDraft(project="demo", title="T", after=[-1])


def test_a_refused_edit_changes_nothing(ctx: Context) -> None:
    task = create_task(ctx, TaskDraft(project="demo", title="Before")).value
    with pytest.raises(UserError, match="nobody"):
        edit_task(ctx, task.id, "After", "", None, False, True, TaskOptions(reviewer="nobody"))
    with pytest.raises(UserError, match="no task"):
        edit_task(ctx, task.id, "After", "", None, False, False, TaskOptions(after=[99]))
    assert ctx.store.get_task(task.id) == task


def test_an_edit_sets_the_task_and_its_options_at_once(ctx: Context) -> None:
    with_profile(ctx)
    task = create_task(ctx, TaskDraft(project="demo", title="Before")).value
    options = TaskOptions(planner="worker", auto_merge=True, budget=TaskBudget(budget_tokens=9))
    done = edit_task(ctx, task.id, "After", "p", "worker", True, False, options)
    assert done.changed == Changed.task(task.id)
    edited = ctx.store.get_task(task.id)
    assert edited == done.value
    assert (edited.title, edited.prompt, edited.plan_first) == ("After", "p", True)
    assert edited.planner_profile_id == edited.profile_id == ctx.store.find_profile("worker").id
    assert edited.auto_merge and edited.budget_tokens == 9


def test_the_verbs_say_what_they_changed(ctx: Context) -> None:
    assert add_profile(ctx, "w", AgentKind.COMMAND, {"command": "true"}).changed == Changed(
        profiles=True
    )
    task = create_task(ctx, TaskDraft(project="demo", title="T")).value
    assert set_foreground(ctx, task.id, True).changed == Changed.task(task.id)
    removed = remove_project(ctx, "demo")
    assert removed.changed == Changed(tasks=frozenset({task.id}), projects=True)


def test_a_reorder_changes_the_whole_queue(ctx: Context) -> None:
    a, b, c = (create_task(ctx, TaskDraft(project="demo", title=t)).value for t in "abc")
    done = move_before(ctx, c.id, a.id)
    assert done.changed == Changed.task(a.id, b.id, c.id)
    assert [t.id for t in ctx.store.list_tasks()] == [c.id, a.id, b.id]
