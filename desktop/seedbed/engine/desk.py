"""What Seedbed's MCP tools do for one run (talkback.tools.RunDesk), on the engine's
loop: its progress line on the card, the board read, a task added, a question asked, a
permission decided."""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict, JsonValue

from seedbed.core.context import Context
from seedbed.core.tasks import TaskDraft, create_task
from seedbed.domain.errors import SeedbedError
from seedbed.domain.events import StatusEvent
from seedbed.domain.lifecycle import LABELS
from seedbed.domain.models import AgentProfile, Task, TaskState
from seedbed.domain.permissions import (
    Action,
    Decision,
    Rule,
    decide,
    describe_call,
    exact_rule,
    parse_rule,
    worktree_rules,
)
from seedbed.domain.questions import QuestionKind
from seedbed.engine.agent_request import agent_profile_id
from seedbed.engine.asking import STOPPED, Asking, ask
from seedbed.engine.run_state import RunState
from seedbed.talkback.tools import MAX_PROGRESS, ToolRefused, prompt_answer

MAX_LISTED = 200  # tasks `list_tasks` names, the newest first beyond that
# What one run may do through its tools, at most: an agent in a loop (confused, or told
# to by what it read) must not fill the board or the log.
MAX_CREATED = 20  # tasks it adds
PROGRESS_EVERY_S = 1.0  # progress lines stored (more often: the latest wins, unsaid)


def _where(task: Task) -> str:
    where = LABELS[task.state]
    return f"{where} ({task.phase.value})" if task.phase.value else where


class PermissionAnswer(BaseModel):
    """A human's answer to a permission request no rule answered."""

    model_config = ConfigDict(frozen=True)

    decision: Decision
    reason: str = ""  # why, in the log and (when denied) to the agent


# The card's buttons for a permission no rule answered, in this order.
PERMISSION_OPTIONS: dict[Decision, str] = {
    Decision.ALLOW_ONCE: "Allow once",
    Decision.ALLOW_TASK: "Allow for this task",
    Decision.ALLOW_PROFILE: "Always for this profile",
    Decision.DENY: "Deny",
}


class EngineDesk:
    """The run's side of Seedbed's tools: scoped to its task and that task's project."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.created = 0
        self._progress_at = 0.0

    async def report_progress(self, text: str) -> str:
        state = self.state
        line = " ".join(text.split())[:MAX_PROGRESS]
        if state.run is None:
            raise ToolRefused("no run is going on")
        now = time.monotonic()
        if now - self._progress_at < PROGRESS_EVERY_S:
            raise ToolRefused(
                f"progress is shown at most once every {PROGRESS_EVERY_S:g} s: report it at "
                "milestones"
            )
        self._progress_at = now
        state.run = state.store.update_run(state.run.id, progress=line)
        state.log(StatusEvent(phase=state.task.phase.value, message=f"progress: {line}"))
        state.changed()
        return "shown on your task's card"

    async def list_tasks(self) -> str:
        state = self.state
        tasks = [
            task
            for task in state.store.list_tasks(state.project.id)
            if task.state is not TaskState.DISCARDED
        ]
        if not tasks:
            return "no tasks"
        shown = sorted(tasks, key=lambda task: task.id)[-MAX_LISTED:]
        lines = [f"#{task.id} {_where(task)}: {task.title}" for task in shown]
        if len(tasks) > len(shown):
            lines.insert(0, f"(the newest {len(shown)} of {len(tasks)})")
        you = f"(you are #{state.task.id})"
        return "\n".join([*lines, you])

    async def task_status(self, task_id: int) -> str:
        state = self.state
        try:
            task = state.store.get_task(task_id)
        except SeedbedError:
            task = None
        if task is None or task.project_id != state.project.id:
            raise ToolRefused(f"there is no task #{task_id} in this project")
        lines = [f"#{task.id} {task.title}", f"column: {_where(task)}"]
        if task.branch:
            lines.append(f"branch: {task.branch}")
        if task.after:
            lines.append("waits for: " + ", ".join(f"#{n}" for n in task.after))
        if task.error:
            lines.append(f"error: {task.error}")
        return "\n".join(lines)

    async def create_task(self, title: str, prompt: str, after: list[int]) -> str:
        state = self.state
        if self.created >= MAX_CREATED:
            raise ToolRefused(
                f"a run adds {MAX_CREATED} tasks at most; say what else should be done in your "
                "summary instead"
            )
        project = state.store.get_project(state.project.id)

        # The profile of the run that adds it (a reviewer's, a planner's, the executor's),
        # never the project's default: a sandboxed agent must not make work that runs
        # without its sandbox. Its planner and reviewer are the adding task's too ("":
        # none), not the project's.
        def name(profile_id: int | None) -> str:
            return state.store.get_profile(profile_id).name if profile_id else ""

        run_profile = self._profile()
        # One generation starts by itself: a task an agent added does not start the
        # tasks its own agent adds (a loop of agents adding agents).
        start = project.agents_start_tasks and state.task.origin_id is None
        draft = TaskDraft(
            project=project.id,
            title=title,
            prompt=prompt,
            after=after,
            start=start,
            origin=state.task.id,
            profile=run_profile.name if run_profile is not None else None,
            planner=name(state.task.planner_profile_id),
            reviewer=name(state.task.reviewer_profile_id),
        )
        try:
            added = create_task(Context(state.store), draft).value
        except SeedbedError as error:
            raise ToolRefused(str(error)) from None
        self.created += 1
        state.on_change(added.id)
        message = f"added task #{added.id} {added.title!r}"
        state.log(StatusEvent(phase=state.task.phase.value, message=message))
        if start:
            return f"added task #{added.id}; it starts as soon as it can"
        return f"added task #{added.id} in Planned; it waits there for the user to start it"

    # -- permissions --------------------------------------------------------------------

    def _profile(self) -> AgentProfile | None:
        state = self.state
        kind = state.run.kind if state.run is not None else None
        profile_id = agent_profile_id(state.task, kind) if kind is not None else None
        return state.store.get_profile(profile_id) if profile_id else None

    def _rules(self, profile: AgentProfile | None) -> list[Rule]:
        """The task's rules ("Allow for this task"), its profile's (checked when saved; one
        that no longer reads as a rule is logged and skipped), then edits inside the
        worktree allowed (what acceptEdits would approve)."""
        texts = [*self.state.permission_rules, *(profile.permission_rules if profile else [])]
        rules = []
        for text in texts:
            try:
                rules.append(parse_rule(text))
            except ValueError as error:
                self._note(f"permission rule skipped: {error}")
        worktree = self.state.task.worktree
        return rules + (worktree_rules(str(worktree)) if worktree is not None else [])

    def _note(self, message: str) -> None:
        self.state.log(StatusEvent(phase=self.state.task.phase.value, message=message))

    async def request_permission(self, tool_name: str, tool_input: dict[str, JsonValue]) -> str:
        """May the agent call `tool_name` with `tool_input`? The rules answer when one
        matches; else the human is asked (`ask_permission`). Every decision is logged."""
        profile = self._profile()
        verdict = decide(self._rules(profile), tool_name, tool_input)
        call = describe_call(tool_name, tool_input)
        if verdict.rule is not None and verdict.action is not Action.ASK:
            allowed = verdict.action is Action.ALLOW
            said = "allowed" if allowed else "denied"
            self._note(f"permission: {said} {call} by rule {verdict.rule.text}")
            refusal = f"Seedbed's rule {verdict.rule.text} refuses {call}"
            return prompt_answer(allowed, tool_input, refusal)
        answer = await self.ask_permission(tool_name, tool_input)
        allowed = answer.decision is not Decision.DENY
        because = f": {answer.reason}" if answer.reason else ""
        if verdict.rule is not None:  # an `ask` rule sent it to the human
            because += f" (asked by rule {verdict.rule.text})"
        said = "allowed" if allowed else "denied"
        self._note(f"permission: {said} {call} ({answer.decision.value}){because}")
        if answer.decision is Decision.ALLOW_TASK:
            self.state.permission_rules.append(exact_rule(tool_name, tool_input))
        elif answer.decision is Decision.ALLOW_PROFILE and profile is not None:
            self._keep_on_profile(profile, exact_rule(tool_name, tool_input))
        refusal = f"the user refused {call}{because}"
        return prompt_answer(allowed, tool_input, refusal)

    async def ask_permission(
        self, tool_name: str, tool_input: dict[str, JsonValue]
    ) -> PermissionAnswer:
        """Ask the human about a call no rule answered: the card (and `task answer`)
        offers Allow once / Allow for this task / Always for this profile / Deny. Another
        answer written in is a refusal the agent reads; no answer in time, or a stop, a
        refusal too."""
        call = describe_call(tool_name, tool_input)
        asking = Asking(
            text=f"Allow {call}?",
            options=list(PERMISSION_OPTIONS.values()),
            kind=QuestionKind.PERMISSION,
        )
        reply = await ask(self.state, asking)
        if not reply.answered:
            return PermissionAnswer(decision=Decision.DENY, reason=reply.text)
        chosen = {label.lower(): decision for decision, label in PERMISSION_OPTIONS.items()}
        decision = chosen.get(reply.text.strip().lower())
        if decision is None:
            return PermissionAnswer(decision=Decision.DENY, reason=f"the user said: {reply.text}")
        return PermissionAnswer(decision=decision)

    def _keep_on_profile(self, profile: AgentProfile, rule: str) -> None:
        state = self.state
        fresh = state.store.get_profile(profile.id)
        if fresh is None or rule in fresh.permission_rules:
            return
        rules = [*fresh.permission_rules, rule]
        state.store.update_profile(fresh.model_copy(update={"permission_rules": rules}))
        self._note(f"permission rule {rule} saved on profile {fresh.name!r}")

    async def ask_user(self, question: str, options: list[str]) -> str:
        state = self.state
        if state.run is None:
            raise ToolRefused("no run is going on")
        reply = await ask(state, Asking(text=question.strip(), options=options))
        if not reply.answered and reply.text == STOPPED:
            raise ToolRefused(STOPPED)
        return reply.text
