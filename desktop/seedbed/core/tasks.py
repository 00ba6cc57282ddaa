"""What a user can do to tasks on the board, as plain blocking functions.

The CLI calls these directly; the window calls them on the engine loop through
`asyncio.to_thread`. Each checks its input, changes the store in short guarded
transactions and git through `vcs`, and raises UserError or OperationError with a
message meant for a person.

The other verbs live beside these, each in its own module: setting up projects and
profiles in `setup`, deciding on a task's work in `review` (approving: `merging`),
review comments in `comments`, reading a task in `diffs`, `task_detail`, `review_data`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import Field

from seedbed.agents.readiness import default_profile
from seedbed.core.context import Changed, Context, Done
from seedbed.core.dependencies import check_dependencies
from seedbed.core.runs import holding_task, interrupt_run
from seedbed.core.setup import check_text
from seedbed.domain.errors import OperationError, UserError
from seedbed.domain.lifecycle import check_move
from seedbed.domain.models import (
    Control,
    Count,
    Dollars,
    Model,
    Phase,
    RowId,
    RunKind,
    Seconds,
    Task,
    TaskState,
)
from seedbed.store import Store
from seedbed.store.lock import EngineBusy, EngineLock
from seedbed.store.problems import out_of_space

CONTROL_WAIT_S = 30.0
RESUME_MESSAGE = "The previous run was interrupted. Continue the task where it stopped."
CONTINUE_MESSAGE = "Continue the task: look at the work so far and finish what is missing."


# -- tasks: the board -------------------------------------------------------------------


MAX_FOREGROUND = 4  # the window's foreground view tiles this many live logs


class TaskBudget(Model):
    """A task's budgets as asked for (0: none); `None` in a change: keep it. Bounded as
    the task's own fields are."""

    budget_usd: Dollars | None = 0.0
    budget_tokens: Count | None = 0
    time_limit_s: Seconds | None = 0.0


class TaskOptions(Model):
    """How a task is verified and bounded, as the task dialog sets it: its planner and
    reviewer (profile names; None: none), what it waits for, auto-merge, auto-approving
    its plan, its budgets."""

    planner: str | None = None
    reviewer: str | None = None
    after: list[RowId] = Field(default_factory=list)
    auto_merge: bool = False
    auto_approve_plan: bool = False
    budget: TaskBudget = Field(default_factory=TaskBudget)


class TaskDraft(Model):
    """Everything a new task is made from, as `seedbed task add` and the New task dialog
    give it. Its project by id (the window) or by name or id as typed (the command line);
    its profiles by name: `profile` None is the project's executor (else the first that
    can run), `planner`/`reviewer` None are the project's, "" none. `start` queues it at
    once; plan first is implied by auto-approving the plan."""

    project: int | str
    title: str
    prompt: str = ""
    profile: str | None = None
    start: bool = False
    foreground: bool = False
    plan_first: bool = False
    after: list[RowId] = Field(default_factory=list)
    budget: TaskBudget = Field(default_factory=TaskBudget)
    planner: str | None = None
    reviewer: str | None = None
    auto_merge: bool = False
    auto_approve_plan: bool = False
    origin: RowId | None = None  # the task whose agent adds it (Seedbed's create_task)

    @classmethod
    def with_options(
        cls, project: int | str, title: str, options: TaskOptions, **fields: Any
    ) -> TaskDraft:
        """A draft with the dialog's options (their planner or reviewer None: none)."""
        return cls(
            project=project,
            title=title,
            after=options.after,
            budget=options.budget,
            planner=options.planner or "",
            reviewer=options.reviewer or "",
            auto_merge=options.auto_merge,
            auto_approve_plan=options.auto_approve_plan,
            **fields,
        )


def create_task(ctx: Context, draft: TaskDraft) -> Done[Task]:
    """The one way a task is made. Everything is checked first (the title and prompt,
    the profiles, what it waits for, room to pin it, whether it can start), then the
    task is written in one transaction, queued already when `start`: a refusal leaves
    no task behind."""
    store = ctx.store
    if isinstance(draft.project, int):
        project = store.get_project(draft.project)
    else:
        project = store.find_project(draft.project)
    check_title(draft.title, draft.prompt)
    if draft.foreground:
        check_room_to_pin(store, project.id)
    profile_id: int | None = None
    if draft.profile is not None:
        profile_id = store.find_profile(draft.profile).id
    elif project.executor_profile_id is not None:
        profile_id = project.executor_profile_id
    else:
        default = default_profile(store)
        profile_id = default.id if default is not None else None
    task = Task(
        project_id=project.id,
        title=draft.title,
        prompt=draft.prompt or draft.title,
        profile_id=profile_id,
        base_branch=project.base_branch,
        foreground=draft.foreground,
        plan_first=draft.plan_first or draft.auto_approve_plan,
        after=check_dependencies(
            store, Task(project_id=project.id, title=draft.title), draft.after
        ),
        **draft.budget.model_dump(exclude_none=True),
        reviewer_profile_id=_role(store, draft.reviewer, project.reviewer_profile_id),
        auto_merge=draft.auto_merge,
        planner_profile_id=_role(store, draft.planner, project.planner_profile_id),
        auto_approve_plan=draft.auto_approve_plan,
        origin_id=draft.origin,
    )
    if draft.start:
        task = task.model_copy(update=_start_fields(task, new=True))
    task = store.add_task(task)
    return Done(value=task, changed=Changed.task(task.id))


def _role(store: Store, name: str | None, default: int | None) -> int | None:
    """A planner or reviewer by name: None the project's, "" none."""
    if name is None:
        return default
    return store.find_profile(name).id if name else None


def check_title(title: str, prompt: str) -> None:
    if not title.strip():
        raise UserError("the task title is empty")
    check_text(title, "the title")
    check_text(prompt, "the prompt")


def edit_task(
    ctx: Context,
    task_id: int,
    title: str,
    prompt: str,
    profile_name: str | None,
    plan_first: bool,
    foreground: bool,
    options: TaskOptions | None = None,
) -> Done[Task]:
    """Change a planned task (what the agent will be asked, and with `options` how it is
    verified and bounded); a started one is refused. Everything is checked before the
    task is written, in one transaction."""
    store = ctx.store
    check_title(title, prompt)
    profile_id = store.find_profile(profile_name).id if profile_name else None
    task = store.get_task(task_id)
    if foreground and not task.foreground:
        check_room_to_pin(store, task.project_id)
    fields = check_task_options(store, task, options) if options is not None else {}
    task = store.update_task(
        task_id,
        expect=TaskState.PLANNED,
        title=title,
        prompt=prompt or title,
        profile_id=profile_id,
        plan_first=plan_first,
        foreground=foreground,
        **fields,
    )
    return Done(value=task, changed=Changed.task(task_id))


def check_task_options(store: Store, task: Task, options: TaskOptions) -> dict[str, Any]:
    """The task fields the options set, every one checked (profiles exist, no cycle; the
    budgets were bounded by TaskBudget) before anything is written."""
    if task.state in (TaskState.MERGED, TaskState.DISCARDED):
        raise UserError(f"task {task.id} is {task.state.value}: nothing about it changes now")
    planner = store.find_profile(options.planner).id if options.planner else None
    reviewer = store.find_profile(options.reviewer).id if options.reviewer else None
    return {
        "planner_profile_id": planner,
        "reviewer_profile_id": reviewer,
        "after": check_dependencies(store, task, options.after),
        "auto_merge": options.auto_merge,
        "auto_approve_plan": options.auto_approve_plan,
        **options.budget.model_dump(exclude_none=True),
    }


def set_foreground(ctx: Context, task_id: int, foreground: bool) -> Done[Task]:
    """Pin a task to the foreground view (watched) or send it to the background."""
    store = ctx.store
    task = store.get_task(task_id)
    if foreground and not task.foreground:
        if task.state in (TaskState.MERGED, TaskState.DISCARDED):
            raise UserError(f"task {task_id} is {task.state.value}: there is nothing to watch")
        check_room_to_pin(store, task.project_id)
    return _done(store.update_task(task_id, foreground=foreground))


def set_plan(ctx: Context, task_id: int, plan: str) -> Done[Task]:
    """Write the task's plan (Markdown): its next run follows it. A merged or discarded
    task is done with plans."""
    store = ctx.store
    task = store.get_task(task_id)
    if task.state in (TaskState.MERGED, TaskState.DISCARDED):
        raise UserError(f"task {task_id} is {task.state.value}: its plan can no longer change")
    return _done(store.update_task(task_id, plan=plan.strip() + ("\n" if plan.strip() else "")))


def set_budget(ctx: Context, task_id: int, budget: TaskBudget) -> Done[Task]:
    """Change a task's budgets; a running one is held to them from its next usage."""
    store = ctx.store
    task = store.get_task(task_id)
    if task.state in (TaskState.MERGED, TaskState.DISCARDED):
        raise UserError(f"task {task_id} is {task.state.value}: it spends nothing now")
    changes = budget.model_dump(exclude_none=True)
    if not changes:
        return Done(value=task, changed=Changed())
    return _done(store.update_task(task_id, **changes))


def check_room_to_pin(store: Store, project_id: int) -> None:
    """The foreground view tiles MAX_FOREGROUND tasks: refuse one more, rather than pin
    a task that would silently get no tile. Pinned planned tasks count: they get their
    tile when they start."""
    active = (TaskState.PLANNED, TaskState.RUNNING, TaskState.AWAITING_REVIEW)
    pinned = [t for t in store.list_tasks(project_id, states=active) if t.foreground]
    if len(pinned) >= MAX_FOREGROUND:
        listed = ", ".join(f"#{t.id}" for t in pinned)
        raise UserError(
            f"{MAX_FOREGROUND} tasks are pinned to the foreground already ({listed}): "
            "unpin one first"
        )


def start_task(ctx: Context, task_id: int) -> Done[Task]:
    """Queue a planned task, or resume one that waits for review in its own worktree;
    never while an approve of it lives (one of them wins, the other says so)."""
    with holding_task(ctx.store, task_id):
        return _done(_start_task(ctx.store, task_id))


def _done(task: Task) -> Done[Task]:
    """A verb's answer when it changed this one task."""
    return Done(value=task, changed=Changed.task(task.id))


def _start_task(store: Store, task_id: int) -> Task:
    task = store.get_task(task_id)
    return store.move_task(
        task_id, TaskState.RUNNING, Phase.QUEUED, expect=task.state, **_start_fields(task)
    )


def check_startable(task: Task, name: str = "") -> None:
    """The UserError saying why a run of the task cannot start (`name`: how the sentence
    calls it; "task N" unless given)."""
    name = name or f"task {task.id}"
    if task.state is TaskState.MERGED:
        raise UserError(f"task {task.id} is merged: there is nothing left to start")
    if task.profile_id is None:
        raise UserError(f"{name} has no agent profile: add one with `seedbed profile add`")
    check_move(task.id, task.state, TaskState.RUNNING)


def place(task: Task) -> str:
    """Where a task is, as a refusal words it: its state, and its phase when it has one."""
    return task.state.value + (f" / {task.phase.value}" if task.phase.value else "")


def queue_again(store: Store, task_id: int, kind: RunKind, message: str, **fields: Any) -> Task:
    """A task awaiting review queued again in its own worktree, for a run of `kind` with
    `message` as its prompt, and `fields` set; never while an approve of it lives."""
    with holding_task(store, task_id):
        return store.move_task(
            task_id,
            TaskState.RUNNING,
            Phase.QUEUED,
            expect=TaskState.AWAITING_REVIEW,
            pending_kind=kind,
            pending_message=message,
            control=Control.NONE,
            **fields,
        )


def _start_fields(task: Task, new: bool = False) -> dict[str, Any]:
    """What starting the task sets (a `new` one: its state and phase too), or the
    UserError saying why it cannot start."""
    check_startable(task, "the new task" if new else "")
    if task.state is TaskState.AWAITING_REVIEW and task.phase is Phase.PLAN_READY:
        raise UserError(
            f"task {task.id} has a plan waiting: approve it (task plan {task.id} --approve) "
            "or send it back"
        )
    message, kind = "", RunKind.IMPLEMENT
    if task.plan_first and not task.plan_approved:
        kind = RunKind.PLAN  # the planner first (again, if it failed or was stopped)
    elif task.state is TaskState.AWAITING_REVIEW:
        message = RESUME_MESSAGE if task.phase is Phase.INTERRUPTED else CONTINUE_MESSAGE
    fields: dict[str, Any] = {
        "pending_kind": kind,
        "pending_message": message,
        "control": Control.NONE,
        "review_verdict": "",
    }
    if new:
        fields.update(state=TaskState.RUNNING, phase=Phase.QUEUED)
    return fields


def approve_plan(ctx: Context, task_id: int) -> Done[Task]:
    """The plan is good: the executor runs with it in its prompt."""
    store = ctx.store
    task = _plan_waiting(store, task_id)
    if not task.plan.strip():
        raise UserError(f"task {task_id} has no plan to approve")
    children = [
        t.id
        for t in store.list_tasks(task.project_id)
        if t.parent_id == task_id and t.state is not TaskState.DISCARDED
    ]
    if children:
        listed = ", ".join(f"#{n}" for n in children)
        raise UserError(
            f"task {task_id} was split into {listed}: work on those and discard this one, "
            "or discard them and send this plan back to plan it whole"
        )
    return _done(_plan_decided(store, task_id, RunKind.IMPLEMENT, "", approved=True))


def request_plan_changes(ctx: Context, task_id: int, comment: str) -> Done[Task]:
    """Back to the planner with the developer's comment on its plan."""
    if not comment.strip():
        raise UserError("say what the plan misses: the comment is empty")
    check_text(comment, "the comment")
    _plan_waiting(ctx.store, task_id)
    return _done(_plan_decided(ctx.store, task_id, RunKind.PLAN, comment.strip(), approved=False))


def _plan_decided(store: Store, task_id: int, kind: RunKind, message: str, approved: bool) -> Task:
    """A waiting plan decided on: queued again, for the executor or the planner."""
    return queue_again(store, task_id, kind, message, error="", plan_approved=approved)


def _plan_waiting(store: Store, task_id: int) -> Task:
    task = store.get_task(task_id)
    if (task.state, task.phase) != (TaskState.AWAITING_REVIEW, Phase.PLAN_READY):
        raise UserError(f"task {task_id} is {place(task)}: no plan of it waits for you")
    return task


def request_changes(store: Store, task_id: int, message: str) -> Task:
    """A follow-up run in the same worktree and branch, with the message as its prompt."""
    if not message.strip():
        raise UserError("say what should change: --message is empty")
    check_text(message, "the message")
    task = store.get_task(task_id)
    if task.state is not TaskState.AWAITING_REVIEW:
        raise UserError(
            f"task {task_id} is {task.state.value}: only a task awaiting review can be sent back"
        )
    if task.phase is Phase.PLAN_READY:
        raise UserError(
            f"task {task_id} waits with a plan, not code: send the plan back with "
            f"`seedbed task plan {task_id} --request-changes TEXT`"
        )
    if task.plan_first and not task.plan_approved:
        raise UserError(
            f"task {task_id} has no approved plan to write code from: start it to plan "
            "again (or turn plan first off)"
        )
    # The developer's round: the automatic ones count afresh.
    return queue_again(store, task_id, RunKind.FIX, message, fix_rounds_used=0, review_verdict="")


def move_before(ctx: Context, task_id: int, before_id: int | None) -> Done[None]:
    """Change the queue order: task_id just before before_id (None: last). The whole
    project's queue is renumbered: every task of it changed its place."""
    project_id = ctx.store.get_task(task_id).project_id
    ctx.store.reorder_task(task_id, before_id)
    moved = [task.id for task in ctx.store.list_tasks(project_id)]
    return Done(value=None, changed=Changed.task(*moved))


def control_task(ctx: Context, task_id: int, control: Control) -> Done[Task]:
    """Stop (→ awaiting review / interrupted) or requeue (→ planned) a running task.

    When an engine owns the data dir the request is left on the task and this waits for
    the engine to carry it out; with no engine, it is carried out here, under the lock.
    """
    return _done(_control_task(ctx.store, ctx.data_dir, task_id, control))


def _control_task(store: Store, data_dir: Path, task_id: int, control: Control) -> Task:
    task = store.get_task(task_id)
    if not has_run_going(task):
        raise UserError(f"task {task_id} is not running (it is {task.state.value})")
    lock = EngineLock(data_dir)
    try:
        lock.acquire()
    except EngineBusy:
        if control is Control.STOP and task.control in (Control.STOP, Control.STOP_NOW):
            control = Control.STOP_NOW  # asked again: its commit, too, is cut
        try:
            store.update_task(task_id, expect=task.state, control=control)
        except UserError:  # its question was answered meanwhile: back in Running
            store.update_task(task_id, expect=TaskState.RUNNING, control=control)
        deadline = time.monotonic() + CONTROL_WAIT_S
        while time.monotonic() < deadline:
            task = store.get_task(task_id)
            if not has_run_going(task):
                return task
            if out_of_space(data_dir):  # the engine cannot store the task's end yet
                raise OperationError(
                    f"disk full: the disk holding {data_dir} has no space left; the engine "
                    f"stops task {task_id} once space is freed (the request stays on the task)"
                ) from None
            time.sleep(0.05)
        raise OperationError(
            f"the engine has not stopped task {task_id} within {CONTROL_WAIT_S:g} s; "
            "the request stays on the task (stop it again to cut what its git is doing)"
        ) from None
    try:
        if task.phase is Phase.QUEUED:
            apply_control_to_queued(store, task_id, control)
        else:
            for run in store.list_runs(task_id):
                if run.status.value == "running":
                    interrupt_run(store, run)
            if control is Control.REQUEUE:
                store.move_task(task_id, TaskState.RUNNING, Phase.QUEUED, control=Control.NONE)
                apply_control_to_queued(store, task_id, Control.REQUEUE)
        return store.get_task(task_id)
    finally:
        lock.release()


def has_run_going(task: Task) -> bool:
    """A run of the task goes on: it runs, or its agent waits on the user's answer."""
    return task.state is TaskState.RUNNING or task.phase is Phase.NEEDS_INPUT


def apply_control_to_queued(store: Store, task_id: int, control: Control) -> None:
    """Stop or requeue a task that waits for a slot: it has no run to end.

    A task that has run before (a queued resume or follow-up) goes back to waiting for
    review; one that never ran goes back to Planned.
    """
    if control is not Control.REQUEUE and store.list_runs(task_id):
        store.move_task(
            task_id,
            TaskState.AWAITING_REVIEW,
            Phase.INTERRUPTED,
            expect=TaskState.RUNNING,
            control=Control.NONE,
        )
    else:
        store.move_task(
            task_id, TaskState.PLANNED, Phase.DRAFT, expect=TaskState.RUNNING, control=Control.NONE
        )
