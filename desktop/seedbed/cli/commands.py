"""The commands: one method of `Cli` per `seedbed COMMAND ACTION`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO

from seedbed.cli.gateway import EngineGone
from seedbed.cli.model_options import given_fields
from seedbed.cli.parser import PROFILE_SETTINGS, PROJECT_ROLES, PROJECT_SETTINGS
from seedbed.cli.reads import Reads
from seedbed.cli.text import (
    EXIT_OK,
    format_event,
    outcome,
    question_lines,
    run_summary,
    shown,
    usage_line,
)
from seedbed.core import keys, reads
from seedbed.core.app_settings import read_settings
from seedbed.core.changes import changed_files
from seedbed.core.checking import checked
from seedbed.core.comments import (
    add_comment,
    comment_location,
    delete_comment,
    diff_since_review,
    edit_comment,
    list_comments,
    request_changes_with_comments,
)
from seedbed.core.data_dir import owning, settings
from seedbed.core.dependencies import set_dependencies
from seedbed.core.diffs import diff_text
from seedbed.core.doctor import agent_clis
from seedbed.core.mcp_servers import (
    add_mcp_server,
    find_mcp_server,
    remove_mcp_server,
    update_mcp_server,
)
from seedbed.core.merging import approve
from seedbed.core.projects import remove_project
from seedbed.core.questions import answer_question
from seedbed.core.review import discard, fix_merge_checks, resolve_conflict
from seedbed.core.runs import finish_if_landed
from seedbed.core.sandboxing import effective_sandbox, sandbox_here
from seedbed.core.setup import (
    add_profile,
    add_project,
    remove_profile,
    set_project_defaults,
    update_profile,
    update_project_settings,
)
from seedbed.core.task_detail import task_detail
from seedbed.core.tasks import (
    TaskBudget,
    TaskDraft,
    approve_plan,
    control_task,
    create_task,
    move_before,
    request_plan_changes,
    set_budget,
    set_foreground,
    set_plan,
    start_task,
)
from seedbed.domain.errors import OperationError, UserError
from seedbed.domain.mcp_servers import SavedMcpServer
from seedbed.domain.models import (
    AgentKind,
    Control,
    MergeStrategy,
    Phase,
    Project,
    Run,
    RunStatus,
    TaskState,
)
from seedbed.domain.questions import Answerer
from seedbed.service.engine_process import EngineProcess


def read_key(name: str) -> str:
    """A key from standard input: a prompt without echo on a terminal, else all of it."""
    stdin = sys.stdin
    try:
        if stdin is None:
            return ""
        if stdin.isatty():
            return getpass.getpass(f"API key for {name!r} (input is not shown): ")
        return stdin.read(keys.MAX_VALUE_LENGTH + 3)
    except EOFError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:  # the message could quote the input
        raise UserError(f"cannot read the key from standard input ({type(exc).__name__})") from None


@contextlib.contextmanager
def hangup_interrupts() -> Iterator[None]:
    """A closed terminal (SIGHUP) or a kill (SIGTERM) interrupts like Ctrl+C for the
    block: an approve then stops its checks and leaves the merge queue cleanly, instead
    of dying with its task marked as being merged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # A signal ignored on purpose (`nohup seedbed task approve …`) stays ignored.
    caught = [s for s in (signal.SIGTERM, signal.SIGHUP) if signal.getsignal(s) != signal.SIG_IGN]
    before = {sig: signal.signal(sig, interrupt) for sig in caught}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


class Cli(Reads):
    """The commands that change things (and `task show`, `task log`, which read git and
    follow runs): through the engine's operations."""

    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        super().__init__(args, out)
        self._last_seen: dict[int, tuple[TaskState, Phase]] = {}

    # -- projects and profiles ----------------------------------------------------------

    def project_add(self) -> int:
        a = self.args
        settings = given_fields(a, PROJECT_SETTINGS)
        roles = {field: settings.pop(field) for field in PROJECT_ROLES if field in settings}
        base = settings.pop("base_branch", None)
        # An unknown profile refuses the project before it is added.
        project = self.call(add_project, a.path, a.name, base, roles, settings).value
        self.emit(project.model_dump(mode="json"), str(project.id))
        return EXIT_OK

    def project_set(self) -> int:
        a = self.args
        project = self.call(reads.find_project, a.project)
        settings = given_fields(a, PROJECT_SETTINGS)
        roles = {field: settings.pop(field) for field in PROJECT_ROLES if field in settings}
        if settings:
            project = self.call(update_project_settings, project.model_copy(update=settings)).value
        if roles:
            project = self._set_roles(project, roles)
        self.emit(project.model_dump(mode="json"), f"project {project.name} updated")
        return EXIT_OK

    def _set_roles(self, project: Project, roles: dict[str, str]) -> Project:
        """The roles' profiles by name ("": none); the ones not given stay."""
        return self.call(
            set_project_defaults,
            project,
            executor=roles.get("executor_profile_id"),
            planner=roles.get("planner_profile_id"),
            reviewer=roles.get("reviewer_profile_id"),
        ).value

    def project_remove(self) -> int:
        removed = self.call(remove_project, self.args.project, self.args.delete_branches).value
        done = "deleted" if removed.deleted else "kept"
        lines = [f"project {removed.project.name} removed ({removed.tasks} task(s) forgotten)"]
        if removed.branches:
            lines.append(f"branches {done}: {', '.join(removed.branches)}")
        if removed.worktrees:
            lines.append(f"worktrees {done}: {', '.join(map(str, removed.worktrees))}")
        self.emit(removed.model_dump(mode="json"), "\n".join(lines))
        return EXIT_OK

    def profile_add(self) -> int:
        a = self.args
        options = given_fields(a, PROFILE_SETTINGS)
        profile = self.call(add_profile, a.name, AgentKind(a.kind), options).value
        self.emit(profile.model_dump(mode="json"), str(profile.id))
        return EXIT_OK

    def profile_set(self) -> int:
        a = self.args
        profile = self.call(reads.find_profile, a.name)
        kind = AgentKind(a.kind) if a.kind else profile.kind
        options = {
            **profile.model_dump(exclude={"id", "name", "kind"}),
            **given_fields(a, PROFILE_SETTINGS),
        }
        name = a.rename if a.rename is not None else profile.name
        updated = self.call(update_profile, profile.id, name, kind, options).value
        self.emit(updated.model_dump(mode="json"), f"profile {updated.name} updated")
        return EXIT_OK

    def profile_remove(self) -> int:
        profile = self.call(remove_profile, self.args.name).value  # refused while in use
        self.emit({"id": profile.id, "removed": True}, f"profile {profile.name} removed")
        return EXIT_OK

    # -- tasks --------------------------------------------------------------------------

    def task_add(self) -> int:
        a = self.args
        prompt = a.prompt
        if a.prompt_file is not None:
            try:
                prompt = a.prompt_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UserError(f"cannot read the prompt file {a.prompt_file}: {exc}") from None
        draft = TaskDraft(
            project=a.project,
            title=a.title,
            prompt=prompt,
            profile=a.profile,
            start=a.start,
            foreground=a.foreground,
            after=a.after,
            budget=self._budget(),
            reviewer=a.reviewer,
            auto_merge=a.auto_merge,
            planner=a.planner,
            auto_approve_plan=a.auto_approve_plan,
            plan_first=a.plan_first,
        )
        task = self.call(create_task, draft).value
        self.emit(task.model_dump(mode="json"), str(task.id))
        return EXIT_OK

    def task_pin(self) -> int:
        task = self.call(set_foreground, self.args.id, not self.args.off).value
        self.emit(
            task.model_dump(mode="json"),
            f"task {task.id} {'pinned' if task.foreground else 'unpinned'}",
        )
        return EXIT_OK

    def _budget(self) -> TaskBudget:
        a = self.args
        minutes = a.time_limit
        return TaskBudget(
            budget_usd=a.budget_usd,
            budget_tokens=a.budget_tokens,
            time_limit_s=None if minutes is None else minutes * 60,
        )

    def task_budget(self) -> int:
        task = self.call(set_budget, self.args.id, self._budget()).value
        text = (
            f"task {task.id}: ${task.budget_usd:g}, {task.budget_tokens:,} tokens, "
            f"{task.time_limit_s / 60:g} minutes (0: no limit)"
        )
        self.emit(task.model_dump(mode="json"), text)
        return EXIT_OK

    def task_wait(self) -> int:
        after = [] if self.args.none else self.args.after
        task = self.call(set_dependencies, self.args.id, after).value
        waits = ", ".join(f"#{n}" for n in task.after)
        self.emit(task.model_dump(mode="json"), f"task {task.id} waits for {waits or 'nothing'}")
        return EXIT_OK

    def task_plan(self) -> int:
        a = self.args
        if a.approve:
            task = self.call(approve_plan, a.id).value
            self.emit(task.model_dump(mode="json"), f"task {task.id}: plan approved, queued")
            return EXIT_OK
        if a.request_changes is not None:
            task = self.call(request_plan_changes, a.id, a.request_changes).value
            self.emit(task.model_dump(mode="json"), f"task {task.id}: back to the planner")
            return EXIT_OK
        if a.edit is None:
            task = self.call(reads.get_task, a.id)
        else:
            try:
                text = sys.stdin.read() if str(a.edit) == "-" else a.edit.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UserError(f"cannot read the plan file {a.edit}: {exc}") from None
            task = self.call(set_plan, a.id, text).value
        self.emit({"id": task.id, "plan": task.plan}, task.plan.rstrip("\n") or "(no plan)")
        return EXIT_OK

    def task_show(self) -> int:
        self.call(finish_if_landed, self.args.id)  # an approve killed after the base moved
        detail = self.call(task_detail, self.args.id)
        error = detail["error"]
        runs = "\n".join(
            f"  run {r['number']} {r['kind']:<9} {r['status']:<11} exit {shown(r['exit_code'])}"
            # the task's error is said once, above, not again by the run it ended
            + (f"  {r['reason']}" if r["reason"] and r["reason"] != error else "")
            for r in detail["runs"]
        )
        diff = detail["diff"]
        done = detail["state"] in (TaskState.MERGED, TaskState.DISCARDED)
        worktree = detail["worktree"] or ("removed" if done else "none yet")
        if detail["branch"]:
            branch = detail["branch"]
        elif done:  # deleted by the approve (the default) or by discard --delete-branch
            branch = "deleted once merged" if detail["state"] == TaskState.MERGED else "deleted"
        else:
            branch = "none yet"
        text = (
            f"#{detail['id']} {detail['title']}\n"
            f"  {detail['state']} / {shown(detail['phase'])}   project {detail['project']}"
            f"   profile {shown(detail['profile'])}\n"
            f"  branch {branch} (base {detail['base']})\n"
            f"  worktree {worktree}\n"
            f"  diff: {diff['files']} files, +{diff['insertions']} -{diff['deletions']}"
            f"   checks: {detail['checks']['status']}\n"
            + usage_line(detail["runs"])
            + (f"  {detail['budget_note']}\n" if detail["budget_note"] else "")
            + "".join(
                f"  also changed by task {o['task_id']}: {', '.join(o['files'])}\n"
                for o in detail["overlaps"]
            )
            + (f"  error: {error}\n" if error else "")
            + (question_lines(detail["question"]) if detail["question"] else "")
            + ("  plan: written (`seedbed task plan ID` prints it)\n" if detail["plan"] else "")
            + (
                "  waits for " + ", ".join(f"#{n}" for n in detail["waiting_for"]) + " to merge\n"
                if detail["waiting_for"]
                else ""
            )
            + runs
        )
        self.emit(detail, text)
        return EXIT_OK

    def task_start(self) -> int:
        task = self.call(start_task, self.args.id).value
        self.emit(task.model_dump(mode="json"), f"task {task.id} queued")
        return EXIT_OK

    def _control(self, control: Control) -> int:
        task = self.call(control_task, self.args.id, control).value
        self.emit(
            task.model_dump(mode="json"), f"task {task.id}: {task.state.value} {task.phase.value}"
        )
        return EXIT_OK

    def task_stop(self) -> int:
        return self._control(Control.STOP)

    def task_answer(self) -> int:
        a = self.args
        question = self.call(answer_question, a.id, a.text, Answerer.CLI, a.question).value
        self.emit(question.model_dump(mode="json"), f"task {question.task_id}: answered")
        return EXIT_OK

    def task_requeue(self) -> int:
        return self._control(Control.REQUEUE)

    def task_move(self) -> int:
        self.call(move_before, self.args.id, self.args.before)
        self.emit(
            {"id": self.args.id, "before": self.args.before},
            f"task {self.args.id} moved before task {self.args.before}",
        )
        return EXIT_OK

    def task_log(self) -> int:
        task = self.call(reads.get_task, self.args.id)
        if self.args.json:
            if self.args.follow:
                raise UserError("--json prints one document at the end: follow with --jsonl")
            self.emit(self._log_document(task.id), "")
            return EXIT_OK
        run = self._pick_run(task.id)
        after = -1
        while True:
            try:
                step, after, run = self._log_step(task.id, run, after)
            except EngineGone:
                # An engine that went idle or was stopped after the run ended: the rest
                # of its log is read here. A run it left unended (killed): said.
                if not (self.gateway.stay_here() and self._run_ended(task.id, run.id)):
                    raise
                continue
            if step == "done":
                return EXIT_OK
            if step == "wait":
                time.sleep(0.1)

    def _log_step(self, task_id: int, run: Run, after: int) -> tuple[str, int, Run]:
        """Print the run's events after `after`: "more" (some were), "wait" (none yet),
        or "done"; the last seq printed, and the run as it is now."""
        rows = self.call(reads.read_events, run.id, after)
        for seq, data in rows:
            self.out.write(format_event(run, seq, data, self.args.jsonl))
        if rows:
            self.out.flush()
            return "more", rows[-1][0], run
        if not self.args.follow:
            return "done", after, run
        run = next(r for r in self.call(reads.list_runs, task_id) if r.id == run.id)
        if run.status is not RunStatus.RUNNING:
            more = self.call(reads.read_events, run.id, after)
            return ("more" if more else "done"), after, run
        return "wait", after, run

    def _run_ended(self, task_id: int, run_id: int) -> bool:
        run = next(r for r in self.call(reads.list_runs, task_id) if r.id == run_id)
        return run.status is not RunStatus.RUNNING

    def _log_document(self, task_id: int) -> dict[str, Any]:
        """`task log --json`: the task's runs (every one, or --run N) with their events."""
        runs = self.call(reads.list_runs, task_id)
        if self.args.run is not None:
            runs = [self._pick_run(task_id)]
        elif not runs:
            raise UserError(f"task {task_id} has not run yet")
        return {
            "task": task_id,
            "runs": [
                {
                    **run.model_dump(mode="json", exclude={"conversation", "task_id"}),
                    "events": [
                        {"seq": seq, **json.loads(data)}
                        for seq, data in self.call(reads.read_events, run.id)
                    ],
                }
                for run in runs
            ],
        }

    def _pick_run(self, task_id: int) -> Run:
        deadline = time.monotonic() + 3600
        while True:
            runs = self.call(reads.list_runs, task_id)
            if self.args.run is not None:
                for run in runs:
                    if run.number == self.args.run:
                        return run
                raise UserError(f"task {task_id} has no run {self.args.run}")
            if runs:
                return runs[-1]
            task = self.call(reads.get_task, task_id)
            if not self.args.follow or task.state is not TaskState.RUNNING:
                raise UserError(f"task {task_id} has not run yet")
            if time.monotonic() > deadline:
                raise OperationError(f"task {task_id} did not start within an hour")
            time.sleep(0.1)

    def task_diff(self) -> int:
        if self.args.since_review:
            if self.args.stat:
                raise UserError("--stat and --since-review do not go together yet")
            text = self.call(diff_since_review, self.args.id)
            self.emit({"diff": text}, text)
            return EXIT_OK
        if not self.args.stat:
            text = self.call(diff_text, self.args.id)
            self.emit({"diff": text}, text)
            return EXIT_OK
        files = self.call(changed_files, self.args.id)
        rows = [
            f" {f.status:<2} {(f.old_path + ' → ') if f.old_path else ''}{f.path}  "
            + ("binary" if f.binary else f"+{f.insertions} -{f.deletions}")
            for f in files
        ]
        added = sum(f.insertions for f in files)
        removed = sum(f.deletions for f in files)
        total = f" {len(files)} files, +{added} -{removed}"
        self.emit([f.model_dump() for f in files], "\n".join([*rows, total]))
        return EXIT_OK

    def task_approve(self) -> int:
        a = self.args
        delete = a.delete_branch
        if delete is None:
            delete = self.call(read_settings).delete_branch_after_merge
        with hangup_interrupts():
            task = self.call(
                approve,
                a.id,
                MergeStrategy(a.strategy),
                a.message,
                delete,
                recheck=not a.no_recheck,
            ).value
        if task.branch is not None:
            branch = f" (branch kept: {task.branch})"
        else:
            branch = " (branch deleted)" if delete else ""
        text = f"task {task.id} merged into {task.base_branch}{branch}"
        self.emit(task.model_dump(mode="json"), text)
        return EXIT_OK

    def task_fix_merge(self) -> int:
        task = self.call(fix_merge_checks, self.args.id).value
        self.emit(
            task.model_dump(mode="json"),
            f"task {task.id} queued: the agent merges {task.base_branch} and fixes the checks",
        )
        return EXIT_OK

    def task_resolve_conflict(self) -> int:
        task = self.call(resolve_conflict, self.args.id).value
        self.emit(
            task.model_dump(mode="json"),
            f"task {task.id} queued: the agent merges {task.base_branch} and resolves the conflict",
        )
        return EXIT_OK

    def task_request_changes(self) -> int:
        task = self.call(request_changes_with_comments, self.args.id, self.args.message).value
        self.emit(task.model_dump(mode="json"), f"task {task.id} queued for a follow-up run")
        return EXIT_OK

    # -- review comments ----------------------------------------------------------------

    def comment_add(self) -> int:
        a = self.args
        comment = self.call(add_comment, a.id, a.file, a.line, a.end_line, a.body, a.quote).value
        self.emit(comment.model_dump(mode="json"), str(comment.id))
        return EXIT_OK

    def comment_list(self) -> int:
        comments = self.call(list_comments, self.args.id)
        rows = [
            f"{c.id:>4}  {'sent  ' if c.sent else 'unsent'}  {comment_location(c)}"
            f"  {c.body.splitlines()[0][:60]}"
            for c in comments
        ]
        self.emit([c.model_dump(mode="json") for c in comments], "\n".join(rows) or "no comments")
        return EXIT_OK

    def comment_edit(self) -> int:
        comment = self.call(edit_comment, self.args.id, self.args.body).value
        self.emit(comment.model_dump(mode="json"), f"comment {comment.id} changed")
        return EXIT_OK

    def comment_delete(self) -> int:
        self.call(delete_comment, self.args.id)
        self.emit({"id": self.args.id, "deleted": True}, f"comment {self.args.id} deleted")
        return EXIT_OK

    def task_discard(self) -> int:
        task = self.call(discard, self.args.id, self.args.delete_branch).value
        if task.branch is None:  # it never had a branch of its own
            kept = ""
        elif self.args.delete_branch:
            kept = " (branch deleted)"
        else:
            kept = f" (branch kept: {task.branch})"
        self.emit(task.model_dump(mode="json"), f"task {task.id} discarded{kept}")
        return EXIT_OK

    # -- MCP servers --------------------------------------------------------------------

    def mcp_add(self) -> int:
        a = self.args
        command = list(a.server_command)
        fields: dict[str, Any] = {
            "name": a.name,
            "command": command[0] if command else "",
            "args": command[1:],
            "url": a.url,
            "env": pairs(a.env, "--env"),
            "env_keys": pairs(a.env_key, "--env-key"),
            "headers": pairs(a.header, "--header"),
            "header_keys": pairs(a.header_key, "--header-key"),
            **self._mcp_scope(),
        }
        server: SavedMcpServer = checked(SavedMcpServer, fields, "MCP server")
        saved = self.call(add_mcp_server, server).value
        self.emit(saved.public(), f"MCP server {saved.name} added: {saved.summary()}")
        return EXIT_OK

    def mcp_set(self) -> int:
        a = self.args
        server = self.call(find_mcp_server, a.name)
        update = self._mcp_scope()
        if a.all_projects:
            update["project_id"] = None
        if a.all_profiles:
            update["profile_ids"] = []
        if a.enabled is not None:
            update["enabled"] = a.enabled
        saved = self.call(update_mcp_server, server.model_copy(update=update)).value
        self.emit(saved.public(), f"MCP server {saved.name} updated")
        return EXIT_OK

    def _mcp_scope(self) -> dict[str, Any]:
        """The project and profiles the options name, as ids (only those given)."""
        a = self.args
        scope: dict[str, Any] = {}
        if a.project:
            scope["project_id"] = self.call(reads.find_project, a.project).id
        if a.profile:
            scope["profile_ids"] = [self.call(reads.find_profile, name).id for name in a.profile]
        return scope

    def mcp_remove(self) -> int:
        server = self.call(remove_mcp_server, self.args.name).value
        self.emit({"name": server.name, "removed": True}, f"MCP server {server.name} removed")
        return EXIT_OK

    # -- API keys -----------------------------------------------------------------------

    def key_set(self) -> int:
        name = keys.check_key_name(self.args.name)
        name, backend = keys.set_key(name, read_key(name))
        self.emit({"name": name, "backend": backend}, f"key {name!r} stored in {backend}")
        return EXIT_OK

    def key_list(self) -> int:
        stored = keys.list_keys()
        names, backend, env = stored.keys, stored.backend, stored.env_fallbacks
        text = "\n".join(
            [
                *(names or ["no keys stored"]),
                f"backend: {backend}",
                f"environment fallbacks set: {', '.join(env) or 'none'}",
            ]
        )
        self.emit({"keys": names, "backend": backend, "env_fallbacks": env}, text)
        return EXIT_OK

    def key_delete(self) -> int:
        name = self.args.name
        keys.delete_key(name)
        self.emit({"name": name, "deleted": True}, f"key {name!r} deleted")
        return EXIT_OK

    def agents_doctor(self) -> int:
        found = agent_clis()
        rows = [
            f"{f.label:<12} "
            + (
                f"{f.version or '?':<10} {'supported' if f.supported else 'NOT SUPPORTED'}"
                f"  {f.path}" + ("" if f.mcp_client else "  (no MCP client: not given MCP servers)")
                if f.path
                else f"not found    {f.hint}"
            )
            for f in found
        ]
        support = sandbox_here()
        rows.append(
            f"{'sandbox':<12} {support.version} ({support.bwrap})"
            if support.works
            else f"{'sandbox':<12} NOT AVAILABLE  {support.problem}"
        )
        for profile in self.call(reads.list_profiles):
            lines = effective_sandbox(profile, self.data_dir)
            if lines:
                rows.append(f"profile {profile.name} ({profile.kind.value}): sandboxed")
                rows += [f"  {line}" for line in lines]
        self.emit([f.model_dump() for f in found], "\n".join(rows))
        return EXIT_OK

    # -- the engine ---------------------------------------------------------------------

    def run(self) -> int:
        """The engine in the foreground; it serves the API too (service/engine_process.py)."""
        if self.args.max_parallel is None:
            self.args.max_parallel = settings(self.ctx).max_parallel
        with owning(self.ctx, wait=1.0):
            process = EngineProcess(
                self.ctx.store,
                self.data_dir,
                self.args.max_parallel,
                until_idle=self.args.until_idle,
            )
            engine = process.engine
            if not self.args.json:
                queued = len(reads.list_tasks(self.ctx, state=TaskState.RUNNING))
                self.out.write(
                    f"engine on {self.data_dir}: {queued} task(s) queued or running, "
                    f"at most {self.args.max_parallel} at once"
                    + (", until idle" if self.args.until_idle else "; Ctrl+C stops")
                    + "\n"
                )
                self.out.flush()
                engine.task_listeners.append(self._print_task)
            else:
                engine.task_listeners.append(self._last_seen_task)
            asyncio.run(process.run())
            tasks = [reads.get_task(self.ctx, task_id) for task_id in sorted(self._last_seen)]
            summary = run_summary(
                "idle" if self.args.until_idle else "stopped",
                [outcome(task.state, task.phase) for task in tasks],
            )
            self.emit([t.model_dump(mode="json") for t in tasks], summary)
        return EXIT_OK

    def _last_seen_task(self, task_id: int) -> None:
        task = reads.get_task(self.ctx, task_id)
        self._last_seen[task_id] = (task.state, task.phase)

    def _print_task(self, task_id: int) -> None:
        task = reads.get_task(self.ctx, task_id)
        seen = (task.state, task.phase)
        if self._last_seen.get(task_id) == seen:
            return
        self._last_seen[task_id] = seen
        stamp = time.strftime("%H:%M:%S")
        self.out.write(f"{stamp} task {task.id} {task.state.value} {task.phase.value}\n")
        self.out.flush()


def pairs(given: list[str], flag: str) -> dict[str, str]:
    """`NAME=VALUE` options as a dict; UserError for one without `=` (never quoting
    its value, which may be a secret)."""
    found: dict[str, str] = {}
    for item in given:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise UserError(f"{flag} takes NAME=VALUE")
        found[name] = value
    return found
