"""What a user can do to projects and tasks, as plain blocking functions.

The CLI calls these directly; the window calls them on the engine loop through
`asyncio.to_thread`. Each checks its input, changes the store in short guarded
transactions and git through `vcs`, and raises UserError or OperationError with a
message meant for a person.
"""

from __future__ import annotations

import glob
import re
import shutil
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from seedbed import secrets, vcs
from seedbed.domain.errors import OperationError, SeedbedError, UserError
from seedbed.domain.lifecycle import check_move
from seedbed.domain.models import (
    AgentKind,
    AgentProfile,
    CheckResult,
    Control,
    DiffStat,
    FileChange,
    MergeStrategy,
    Phase,
    Project,
    RunKind,
    Task,
    TaskState,
)
from seedbed.domain.slug import one_line, slugify
from seedbed.engine.engine import apply_control_to_queued
from seedbed.engine.lock import EngineBusy, EngineLock
from seedbed.engine.recovery import interrupt_run
from seedbed.engine.runner import commit_work
from seedbed.store import Store

CONTROL_WAIT_S = 30.0
PROJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
RESUME_MESSAGE = "The previous run was interrupted. Continue the task where it stopped."
CONTINUE_MESSAGE = "Continue the task: look at the work so far and finish what is missing."


# -- projects and profiles --------------------------------------------------------------


def add_project(
    store: Store,
    path: Path,
    name: str | None = None,
    base: str | None = None,
    setup: str = "",
    check: str = "",
    copy: list[str] | None = None,
    diff_budget: int = 0,
) -> Project:
    top = vcs.open_repository(path)
    if base is None:
        base = vcs.current_branch(top)
        if base is None:
            raise UserError(f"{top} has a detached HEAD: name the base branch with --base")
    elif not vcs.branch_exists(top, base):
        raise UserError(f"base branch {base!r} does not exist in {top}")
    if diff_budget < 0:
        raise UserError("--diff-budget must be 0 or more")
    if name is not None and not name.strip():
        raise UserError("the project name is empty")
    if name is not None and not PROJECT_NAME.fullmatch(name.strip()):
        raise UserError(
            f"{name!r} is not a usable project name: use letters, digits, '.', '_' and '-' "
            "(it names a directory), starting with a letter or digit"
        )
    project = Project(
        name=slugify(name or top.name, fallback="project") if name is None else name.strip(),
        path=top,
        base_branch=base,
        setup_command=setup,
        check_command=check,
        copy_globs=copy or [],
        diff_budget=diff_budget,
    )
    if not project.name:
        raise UserError("the project name is empty")
    return store.add_project(project)


def add_profile(store: Store, name: str, kind: AgentKind, **options: Any) -> AgentProfile:
    """A new agent profile; options are AgentProfile fields, checked here for the user."""
    return store.add_profile(check_profile(name, kind, **options))


class InvalidField(UserError):
    """A setting the user must change; `field` names the model's field ("" when the
    problem is not one field's), so a form can show the message next to it."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def check_profile(name: str, kind: AgentKind, **options: Any) -> AgentProfile:
    """The profile `name` of `kind` with these AgentProfile fields, checked for the user
    (the same rules for `profile add` and the settings dialog); InvalidField if not.
    Pure: no I/O."""
    name = name.strip()
    if not name:
        raise InvalidField("the profile name is empty", "name")
    if options.get("timeout") is not None and options["timeout"] <= 0:
        raise InvalidField("--timeout must be a positive number of seconds", "timeout")
    for field in ("context_window", "max_turns", "max_tries", "max_output_tokens"):
        if options.get(field) is not None and options[field] < 1:
            raise InvalidField(f"{_flag(field)} must be at least 1", field)
    for field in ("price_in", "price_out", "token_budget"):
        if options.get(field) is not None and options[field] < 0:
            raise InvalidField(f"{_flag(field)} cannot be negative", field)
    for field in ("idle_timeout", "grace_seconds", "read_timeout"):
        if options.get(field) is not None and options[field] < 0:
            raise InvalidField(f"{_flag(field)} cannot be negative", field)
    for field in ("context_warn", "context_stop"):
        if options.get(field) is not None and not 0 < options[field] <= 1:
            raise InvalidField(f"{_flag(field)} must be a fraction above 0 and at most 1", field)
    if options.get("key_name"):
        try:
            secrets.validate_name(options["key_name"])
        except UserError as exc:
            raise InvalidField(str(exc), "key_name") from None
    base_url = str(options.get("base_url", ""))
    if base_url and not base_url.startswith(("http://", "https://")):
        raise InvalidField(
            f"--base-url must start with http:// or https://, not {base_url!r}", "base_url"
        )
    if kind is AgentKind.COMMAND and not str(options.get("command", "")).strip():
        raise InvalidField("a command profile needs --command", "command")
    if kind is AgentKind.BUILTIN:
        if not options.get("provider"):
            raise InvalidField(
                "a builtin profile needs --provider (openai or anthropic)", "provider"
            )
        if not str(options.get("model", "")).strip():
            raise InvalidField("a builtin profile needs --model", "model")
    try:
        return AgentProfile.model_validate({"name": name, "kind": kind, **options})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        raise InvalidField(f"invalid profile: {error['msg']}", field) from None


def update_profile(
    store: Store, profile_id: int, name: str, kind: AgentKind, **options: Any
) -> AgentProfile:
    """Replace profile `profile_id` with these settings, checked as `add_profile` does.
    Fields `options` leaves out get their defaults."""
    store.get_profile(profile_id)
    profile = check_profile(name, kind, **options)
    return store.update_profile(profile.model_copy(update={"id": profile_id}))


def update_project_settings(store: Store, project: Project) -> Project:
    """Save a project's settings (setup and check commands, copied files, diff budget,
    check timeout), checked for the user; its name and path do not change."""
    store.get_project(project.id)
    if project.diff_budget < 0:
        raise InvalidField("the diff budget must be 0 or more", "diff_budget")
    if project.check_timeout <= 0:
        raise InvalidField(
            "the check timeout must be a positive number of seconds", "check_timeout"
        )
    texts = [
        ("setup_command", project.setup_command, "the setup command"),
        ("check_command", project.check_command, "the check command"),
        *(("copy_globs", pattern, "a copied-files pattern") for pattern in project.copy_globs),
    ]
    for field, text, what in texts:
        try:
            check_text(text, what)
        except UserError as exc:
            raise InvalidField(str(exc), field) from None
    return store.update_project(project)


# -- tasks: the board -------------------------------------------------------------------


def add_task(
    store: Store,
    project_ref: str,
    title: str,
    prompt: str = "",
    profile_name: str | None = None,
    start: bool = False,
    foreground: bool = False,
    plan_first: bool = False,
) -> Task:
    project = store.find_project(project_ref)
    if not title.strip():
        raise UserError("the task title is empty")
    check_text(title, "the title")
    check_text(prompt, "the prompt")
    profile_id: int | None = None
    if profile_name is not None:
        profile_id = store.find_profile(profile_name).id
    else:
        profiles = store.list_profiles()
        profile_id = profiles[0].id if profiles else None
    task = store.add_task(
        Task(
            project_id=project.id,
            title=title,
            prompt=prompt or title,
            profile_id=profile_id,
            base_branch=project.base_branch,
            foreground=foreground,
            plan_first=plan_first,
        )
    )
    return start_task(store, task.id) if start else task


def edit_task(
    store: Store,
    task_id: int,
    title: str,
    prompt: str,
    profile_name: str | None,
    plan_first: bool,
    foreground: bool,
) -> Task:
    """Change a planned task (what the agent will be asked); a started one is refused."""
    if not title.strip():
        raise UserError("the task title is empty")
    check_text(title, "the title")
    check_text(prompt, "the prompt")
    profile_id = store.find_profile(profile_name).id if profile_name else None
    return store.update_task(
        task_id,
        expect=TaskState.PLANNED,
        title=title,
        prompt=prompt or title,
        profile_id=profile_id,
        plan_first=plan_first,
        foreground=foreground,
    )


def set_foreground(store: Store, task_id: int, foreground: bool) -> Task:
    """Pin a task to the foreground view (watched) or send it to the background."""
    return store.update_task(task_id, foreground=foreground)


def check_text(text: str, what: str) -> None:
    """Text that becomes a process's stdin, environment or a commit message."""
    if "\0" in text:
        raise UserError(f"{what} contains a NUL byte")


def start_task(store: Store, task_id: int) -> Task:
    """Queue a planned task, or resume one that waits for review in its own worktree."""
    task = store.get_task(task_id)
    if task.profile_id is None:
        raise UserError(f"task {task_id} has no agent profile: add one with `seedbed profile add`")
    check_move(task_id, task.state, TaskState.RUNNING)
    message = ""
    if task.state is TaskState.AWAITING_REVIEW:
        message = RESUME_MESSAGE if task.phase is Phase.INTERRUPTED else CONTINUE_MESSAGE
    return store.move_task(
        task_id,
        TaskState.RUNNING,
        Phase.QUEUED,
        expect=task.state,
        pending_kind=RunKind.IMPLEMENT,
        pending_message=message,
        control=Control.NONE,
    )


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
    return store.move_task(
        task_id,
        TaskState.RUNNING,
        Phase.QUEUED,
        expect=TaskState.AWAITING_REVIEW,
        pending_kind=RunKind.FIX,
        pending_message=message,
        control=Control.NONE,
    )


def move_before(store: Store, task_id: int, before_id: int | None) -> None:
    """Change the queue order: task_id just before before_id (None: last)."""
    store.reorder_task(task_id, before_id)


def control_task(store: Store, data_dir: Path, task_id: int, control: Control) -> Task:
    """Stop (→ awaiting review / interrupted) or requeue (→ planned) a running task.

    When an engine owns the data dir the request is left on the task and this waits for
    the engine to carry it out; with no engine, it is carried out here, under the lock.
    """
    task = store.get_task(task_id)
    if task.state is not TaskState.RUNNING:
        raise UserError(f"task {task_id} is not running (it is {task.state.value})")
    lock = EngineLock(data_dir)
    try:
        lock.acquire()
    except EngineBusy:
        store.update_task(task_id, expect=TaskState.RUNNING, control=control)
        deadline = time.monotonic() + CONTROL_WAIT_S
        while time.monotonic() < deadline:
            task = store.get_task(task_id)
            if task.state is not TaskState.RUNNING:
                return task
            time.sleep(0.05)
        raise OperationError(
            f"the engine has not stopped task {task_id} within {CONTROL_WAIT_S:g} s; "
            "the request stays on the task"
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


# -- review: diff, approve, discard -----------------------------------------------------


def _project_of(store: Store, task: Task) -> Project:
    return store.get_project(task.project_id)


def diff_text(store: Store, task_id: int) -> str:
    task = store.get_task(task_id)
    project = _project_of(store, task)
    if task.branch is None:
        raise UserError(f"task {task_id} has no branch yet: it has not run")
    if task.state is TaskState.RUNNING and task.worktree and task.worktree.exists():
        return vcs.worktree_diff_text(task.worktree, task.base_branch)
    if not _branch_exists(project, task):
        raise UserError(f"the branch {task.branch} of task {task_id} no longer exists")
    return vcs.diff_text(project.path, task.base_branch, task.branch)


def diff_files(store: Store, task: Task) -> list[FileChange]:
    project = _project_of(store, task)
    if task.state is TaskState.RUNNING and task.worktree and task.worktree.exists():
        return vcs.worktree_diff_files(task.worktree, task.base_branch)
    if not _branch_exists(project, task):
        raise UserError(f"task {task.id} has no branch: it has not run, or its branch was deleted")
    assert task.branch is not None
    return vcs.diff_files(project.path, task.base_branch, task.branch)


def diff_stat(store: Store, task: Task) -> DiffStat:
    project = _project_of(store, task)
    being_made = task.phase in (Phase.QUEUED, Phase.PREPARING) and not task.workspace_ready
    if task.branch is None or being_made:
        return DiffStat()
    if task.state is TaskState.RUNNING and task.worktree and task.worktree.exists():
        return vcs.worktree_diff_stat(task.worktree, task.base_branch)
    if not _branch_exists(project, task):
        return DiffStat()
    return vcs.diff_stat(project.path, task.base_branch, task.branch)


def remove_workspace(project: Project, worktree: Path) -> None:
    """Remove a task's worktree and the per-task state agents keep beside it
    (`.<worktree name>.<agent>`, e.g. Aider's chat history): nothing is left behind."""
    vcs.remove_worktree(project.path, worktree)
    for state in worktree.parent.glob(f".{glob.escape(worktree.name)}.*"):
        if state.is_dir() and not state.is_symlink():
            shutil.rmtree(state, ignore_errors=True)


def _branch_exists(project: Project, task: Task) -> bool:
    """Whether the task's own branch exists (the runner records a branch name only when
    it was free, so a recorded branch is never the user's)."""
    if task.branch is None:
        return False
    return vcs.branch_exists(project.path, task.branch)


def approve(
    store: Store, task_id: int, strategy: MergeStrategy = MergeStrategy.SQUASH, message: str = ""
) -> Task:
    """Merge the task's branch into its base branch → merged, worktree removed.

    On a conflict the base checkout is left exactly as it was and the task waits in
    awaiting_review / conflict, naming the files.
    """
    task = store.get_task(task_id)
    check_move(task_id, task.state, TaskState.MERGED)
    project = _project_of(store, task)
    if not _branch_exists(project, task):
        raise UserError(f"task {task_id} has no branch to merge")
    assert task.branch is not None
    if task.worktree is not None and task.worktree.exists():
        commit_work(
            project, task.worktree, f"{one_line(task.title)}\n\nChanges left in the worktree.\n"
        )
    if vcs.diff_stat(project.path, task.base_branch, task.branch).files == 0:
        raise UserError(
            f"task {task_id} changed nothing against {task.base_branch}: nothing to merge "
            "(discard it instead)"
        )
    subject = message.strip() or one_line(task.title)
    try:
        vcs.merge(
            project.path,
            task.base_branch,
            task.branch,
            strategy,
            subject + f"\n\nSeedbed task {task.id}\n" if not message.strip() else message,
            task.worktree if task.worktree is not None and task.worktree.exists() else None,
        )
    except vcs.MergeConflict as exc:
        store.update_task(task_id, phase=Phase.CONFLICT, error=str(exc))
        raise
    if task.worktree is not None:
        remove_workspace(project, task.worktree)
    return store.move_task(
        task_id,
        TaskState.MERGED,
        Phase.NONE,
        expect=TaskState.AWAITING_REVIEW,
        workspace_ready=False,
        worktree=None,
        error="",
    )


def discard(store: Store, task_id: int, delete_branch: bool = False) -> Task:
    """Archive a task. Its work is committed to its branch first; the branch is kept
    unless delete_branch."""
    task = store.get_task(task_id)
    check_move(task_id, task.state, TaskState.DISCARDED)
    project = _project_of(store, task)
    if task.worktree is not None:
        if task.worktree.exists():
            message = f"{one_line(task.title)}\n\nWork kept when discarded.\n"
            commit_work(project, task.worktree, message)
        # Also forgets a worktree whose directory was deleted by hand, which would
        # otherwise still hold its branch and make --delete-branch fail.
        remove_workspace(project, task.worktree)
    branch = task.branch
    if delete_branch and _branch_exists(project, task):
        assert task.branch is not None
        vcs.delete_branch(project.path, task.branch)
        branch = None
    return store.move_task(
        task_id,
        TaskState.DISCARDED,
        Phase.NONE,
        expect=task.state,
        workspace_ready=False,
        worktree=None,
        branch=branch,
    )


# -- reading ----------------------------------------------------------------------------


def _diff_summary(store: Store, task: Task) -> dict[str, int]:
    """The diff's size for `task show`; a worktree caught mid-change counts as empty."""
    try:
        return diff_stat(store, task).model_dump()
    except SeedbedError:
        return DiffStat().model_dump()


def task_detail(store: Store, task_id: int) -> dict[str, Any]:
    """Everything `task show` prints, as plain JSON-ready data."""
    task = store.get_task(task_id)
    project = _project_of(store, task)
    profile = store.get_profile(task.profile_id).name if task.profile_id else None
    runs = store.list_runs(task_id)
    diff = _diff_summary(store, task)
    checks = runs[-1].checks if runs else None  # an older run's checks say nothing now
    return {
        "id": task.id,
        "title": task.title,
        "prompt": task.prompt,
        "state": task.state.value,
        "phase": task.phase.value,
        "project": project.name,
        "project_id": project.id,
        "branch": task.branch,
        "worktree": str(task.worktree) if task.worktree else None,
        "base": task.base_branch,
        "profile": profile,
        "position": task.position,
        "foreground": task.foreground,
        "plan_first": task.plan_first,
        "error": task.error,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "runs": [
            {
                "id": run.id,
                "number": run.number,
                "kind": run.kind.value,
                "status": run.status.value,
                "exit_code": run.exit_code,
                "reason": run.reason,
                "started_at": run.started_at,
                "ended_at": run.ended_at,
                "commit": run.commit,
                "tokens_in": run.tokens_in,
                "tokens_out": run.tokens_out,
                "cost_usd": run.cost_usd,
                "context_fill": run.context_fill,
            }
            for run in runs
        ],
        "diff": diff,
        "diff_budget": project.diff_budget,
        "over_budget": bool(project.diff_budget)
        and diff["insertions"] + diff["deletions"] > project.diff_budget,
        "checks": (checks or CheckResult()).model_dump(mode="json"),
    }
