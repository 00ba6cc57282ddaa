"""The headless command line over the engine: `seedbed COMMAND …`.

User mistakes print one line starting with `error:` and exit 2; a failed operation
exits 1; neither prints a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from seedbed import __version__, secrets
from seedbed.domain.errors import OperationError, SeedbedError, UserError
from seedbed.domain.models import (
    AgentKind,
    AgentProfile,
    Control,
    MergeStrategy,
    Phase,
    ProviderKind,
    Run,
    RunStatus,
    TaskState,
)
from seedbed.engine import operations as ops
from seedbed.engine.engine import Engine
from seedbed.engine.lock import EngineLock
from seedbed.paths import resolve_data_dir
from seedbed.store import Store
from seedbed.store.settings import load_settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one `error:` line and exit 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> Parser:
    parser = Parser(
        prog="seedbed", description="Run AI coding agents in parallel, one worktree each."
    )
    parser.add_argument("--version", action="version", version=f"seedbed {__version__}")
    parser.add_argument("--data-dir", help="where Seedbed keeps its data (env SEEDBED_DATA_DIR)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    common = Parser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    commands = parser.add_subparsers(dest="cmd", parser_class=Parser, metavar="COMMAND")

    project = commands.add_parser("project", help="repositories Seedbed works on").add_subparsers(
        dest="act", required=True, parser_class=Parser, metavar="ACTION"
    )
    p = project.add_parser("add", parents=[common], help="add a git repository")
    p.add_argument("path", type=Path)
    p.add_argument("--name")
    p.add_argument("--base", help="base branch (default: the branch checked out there)")
    p.add_argument("--setup", default="", help="command run in each new worktree")
    p.add_argument("--check", default="", help="the project's checks, run after each run")
    p.add_argument(
        "--copy", action="append", default=[], metavar="GLOB", help="copy into worktrees"
    )
    p.add_argument("--diff-budget", type=int, default=0, metavar="LINES")
    project.add_parser("list", parents=[common], help="list projects")

    profile = commands.add_parser("profile", help="agent profiles").add_subparsers(
        dest="act", required=True, parser_class=Parser, metavar="ACTION"
    )
    p = profile.add_parser("add", parents=[common], help="add an agent profile")
    p.add_argument("name")
    p.add_argument("--kind", choices=[k.value for k in AgentKind], required=True)
    p.add_argument("--command", default="", help="command: run through /bin/sh -c in the worktree")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="a run's time limit")
    builtin = p.add_argument_group("builtin agent (--model, --base-url, --key-name: CLIs too)")
    builtin.add_argument("--provider", choices=[k.value for k in ProviderKind])
    builtin.add_argument("--model", default="")
    builtin.add_argument("--base-url", default="", metavar="URL", help="default: the provider's")
    builtin.add_argument("--key-name", default="", metavar="NAME", help="default: the provider")
    builtin.add_argument("--context-window", type=int, metavar="TOKENS")
    builtin.add_argument("--max-turns", type=int, metavar="N")
    builtin.add_argument("--max-tries", type=int, metavar="N", help="attempts per model call")
    builtin.add_argument("--price-in", type=float, metavar="USD_PER_MTOK")
    builtin.add_argument("--price-out", type=float, metavar="USD_PER_MTOK")
    builtin.add_argument("--token-budget", type=int, metavar="TOKENS")
    builtin.add_argument("--max-output-tokens", type=int, metavar="TOKENS")
    clis = p.add_argument_group("coding-agent CLIs (claude-code, codex, aider, gemini, opencode)")
    clis.add_argument("--binary", default="", metavar="PATH", help="default: the usual name")
    clis.add_argument("--permission-mode", default="", metavar="MODE")
    clis.add_argument(
        "--extra-arg", dest="extra_args", action="append", default=[], metavar="ARG",
        help="passed to the CLI as it is (repeatable)",
    )  # fmt: skip
    clis.add_argument("--idle-timeout", type=float, metavar="SECONDS",
                      help="end a run that prints nothing this long (default 600)")  # fmt: skip
    profile.add_parser("list", parents=[common], help="list profiles")

    task = commands.add_parser("task", help="tasks on the board").add_subparsers(
        dest="act", required=True, parser_class=Parser, metavar="ACTION"
    )
    p = task.add_parser("add", parents=[common], help="add a planned task")
    p.add_argument("--project", required=True, metavar="ID_OR_NAME")
    p.add_argument("--title", required=True)
    prompt = p.add_mutually_exclusive_group()
    prompt.add_argument("--prompt", default="")
    prompt.add_argument("--prompt-file", type=Path)
    p.add_argument("--profile", help="agent profile name (default: the first profile)")
    p.add_argument("--start", action="store_true", help="queue it at once")
    p.add_argument(
        "--foreground", action="store_true", help="pin it to the window's foreground view"
    )
    p = task.add_parser("list", parents=[common], help="list tasks in board order")
    p.add_argument("--project", metavar="ID_OR_NAME")
    p.add_argument("--state", choices=[s.value for s in TaskState])
    p = task.add_parser("show", parents=[common], help="one task in detail")
    p.add_argument("id", type=int)
    for name, text in [
        ("start", "queue a task (or resume an interrupted one)"),
        ("stop", "stop its run: → awaiting review / interrupted"),
        ("requeue", "stop its run and put it back in Planned"),
    ]:
        task.add_parser(name, parents=[common], help=text).add_argument("id", type=int)
    p = task.add_parser("pin", parents=[common], help="pin to (or --off: take off) the foreground")
    p.add_argument("id", type=int)
    p.add_argument("--off", action="store_true")
    p = task.add_parser("move", parents=[common], help="change the board order")
    p.add_argument("id", type=int)
    p.add_argument("--before", type=int, required=True, metavar="OTHER_ID")
    p = task.add_parser("log", parents=[common], help="a run's events")
    p.add_argument("id", type=int)
    p.add_argument("--run", type=int, metavar="N", help="run number (default: the last)")
    p.add_argument("--follow", action="store_true", help="keep printing until the run ends")
    p = task.add_parser("diff", parents=[common], help="the task's change against its base")
    p.add_argument("id", type=int)
    p.add_argument("--stat", action="store_true")
    p.add_argument(
        "--since-review", action="store_true", help="only what changed since changes were requested"
    )
    p = task.add_parser("approve", parents=[common], help="merge into the base branch")
    p.add_argument("id", type=int)
    p.add_argument("--strategy", choices=[s.value for s in MergeStrategy], default="squash")
    p.add_argument("--message", default="")
    p = task.add_parser(
        "request-changes", parents=[common], help="send it back with its unsent comments"
    )
    p.add_argument("id", type=int)
    p.add_argument("--message", default="", help="required when there are no unsent comments")
    p = task.add_parser("discard", parents=[common], help="archive it (work kept on its branch)")
    p.add_argument("id", type=int)
    p.add_argument("--delete-branch", action="store_true")

    comment = commands.add_parser(
        "comment", help="review comments on a task's diff"
    ).add_subparsers(dest="act", required=True, parser_class=Parser, metavar="ACTION")
    p = comment.add_parser("add", parents=[common], help="comment on a file or lines of it")
    p.add_argument("id", type=int, metavar="TASK_ID")
    p.add_argument("--file", required=True, metavar="PATH")
    p.add_argument("--line", type=int, metavar="N", help="new-file line (default: whole file)")
    p.add_argument("--end-line", type=int, metavar="M", help="last line of a selection")
    p.add_argument("--body", required=True, metavar="TEXT")
    p.add_argument("--quote", default="", metavar="TEXT", help="default: those lines now")
    p = comment.add_parser("list", parents=[common], help="a task's comments, sent ones too")
    p.add_argument("id", type=int, metavar="TASK_ID")
    p = comment.add_parser("edit", parents=[common], help="change an unsent comment's text")
    p.add_argument("id", type=int, metavar="COMMENT_ID")
    p.add_argument("--body", required=True, metavar="TEXT")
    p = comment.add_parser("delete", parents=[common], help="remove an unsent comment")
    p.add_argument("id", type=int, metavar="COMMENT_ID")

    key = commands.add_parser("key", help="API keys in the OS keyring").add_subparsers(
        dest="act", required=True, parser_class=Parser, metavar="ACTION"
    )
    p = key.add_parser("set", parents=[common], help="store a key read from stdin (no echo)")
    p.add_argument("name", help="e.g. openai, anthropic, or a profile's --key-name")
    key.add_parser("list", parents=[common], help="name the stored keys (never their values)")
    p = key.add_parser("delete", parents=[common], help="remove a key from the keyring")
    p.add_argument("name")

    agents = commands.add_parser("agents", help="coding-agent CLIs").add_subparsers(
        dest="act", required=True, parser_class=Parser, metavar="ACTION"
    )
    agents.add_parser("doctor", parents=[common], help="which CLIs are installed and usable")

    p = commands.add_parser("gui", help="open the window (the default without a command)")
    p.add_argument(
        "--screenshot",
        type=Path,
        metavar="FILE",
        help="render the window offscreen from the data dir's state, save a PNG and exit",
    )
    p.add_argument("--select", type=int, metavar="TASK_ID", help="select this task's card")
    p.add_argument("--size", metavar="WxH", help="window size, e.g. 1400x850")

    p = commands.add_parser("run", parents=[common], help="run the engine in the foreground")
    p.add_argument(
        "--max-parallel",
        type=int,
        default=None,
        metavar="N",
        help="agents at once (default: the settings' max_parallel, 4 unless changed)",
    )
    p.add_argument("--until-idle", action="store_true", help="exit once nothing runs or waits")
    return parser


class Cli:
    """One invocation: the parsed arguments, the store, and where output goes."""

    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        self.args = args
        self.out = out
        self.data_dir = resolve_data_dir(args.data_dir)
        self.store = Store.open(self.data_dir)
        self._last_seen: dict[int, tuple[TaskState, Phase]] = {}

    def emit(self, data: Any, text: str) -> None:
        if self.args.json:
            self.out.write(json.dumps(data, indent=2, default=str) + "\n")
        elif text:
            self.out.write(text + ("" if text.endswith("\n") else "\n"))

    # -- projects and profiles ----------------------------------------------------------

    def project_add(self) -> int:
        a = self.args
        project = ops.add_project(
            self.store, a.path, a.name, a.base, a.setup, a.check, a.copy, a.diff_budget
        )
        self.emit(project.model_dump(mode="json"), str(project.id))
        return EXIT_OK

    def project_list(self) -> int:
        projects = self.store.list_projects()
        rows = [f"{p.id:>4}  {p.name:<20} {p.base_branch:<12} {p.path}" for p in projects]
        self.emit([p.model_dump(mode="json") for p in projects], "\n".join(rows) or "no projects")
        return EXIT_OK

    def profile_add(self) -> int:
        a = self.args
        options = {
            name: getattr(a, name)
            for name in (
                "command", "timeout", "provider", "model", "base_url", "key_name",
                "context_window", "max_turns", "max_tries", "price_in", "price_out",
                "token_budget", "max_output_tokens", "binary", "permission_mode",
                "extra_args", "idle_timeout",
            )
            if getattr(a, name) not in (None, "", [])
        }  # fmt: skip
        profile = ops.add_profile(self.store, a.name, AgentKind(a.kind), **options)
        self.emit(profile.model_dump(mode="json"), str(profile.id))
        return EXIT_OK

    def profile_list(self) -> int:
        profiles = self.store.list_profiles()
        rows = [f"{p.id:>4}  {p.name:<20} {p.kind.value:<10} {describe(p)}" for p in profiles]
        self.emit([p.model_dump(mode="json") for p in profiles], "\n".join(rows) or "no profiles")
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
        task = ops.add_task(
            self.store, a.project, a.title, prompt, a.profile, a.start, foreground=a.foreground
        )
        self.emit(task.model_dump(mode="json"), str(task.id))
        return EXIT_OK

    def task_pin(self) -> int:
        task = ops.set_foreground(self.store, self.args.id, not self.args.off)
        self.emit(
            task.model_dump(mode="json"),
            f"task {task.id} {'pinned' if task.foreground else 'unpinned'}",
        )
        return EXIT_OK

    def task_list(self) -> int:
        a = self.args
        project_id = self.store.find_project(a.project).id if a.project else None
        states = [TaskState(a.state)] if a.state else None
        tasks = self.store.list_tasks(project_id=project_id, states=states)
        rows = [
            f"{t.id:>4}  {t.state.value:<16} {t.phase.value:<14} {t.title.splitlines()[0][:60]}"
            for t in tasks
        ]
        self.emit([t.model_dump(mode="json") for t in tasks], "\n".join(rows) or "no tasks")
        return EXIT_OK

    def task_show(self) -> int:
        detail = ops.task_detail(self.store, self.args.id)
        runs = "\n".join(
            f"  run {r['number']} {r['kind']:<9} {r['status']:<11} exit {r['exit_code']}"
            + (f"  {r['reason']}" if r["reason"] else "")
            for r in detail["runs"]
        )
        diff = detail["diff"]
        text = (
            f"#{detail['id']} {detail['title']}\n"
            f"  {detail['state']} / {detail['phase'] or '-'}   project {detail['project']}"
            f"   profile {detail['profile']}\n"
            f"  branch {detail['branch']} (base {detail['base']})\n"
            f"  worktree {detail['worktree']}\n"
            f"  diff: {diff['files']} files, +{diff['insertions']} -{diff['deletions']}"
            f"   checks: {detail['checks']['status']}\n"
            + usage_line(detail["runs"])
            + (f"  {detail['budget_note']}\n" if detail["budget_note"] else "")
            + "".join(
                f"  also changed by task {o['task_id']}: {', '.join(o['files'])}\n"
                for o in detail["overlaps"]
            )
            + (f"  error: {detail['error']}\n" if detail["error"] else "")
            + runs
        )
        self.emit(detail, text)
        return EXIT_OK

    def task_start(self) -> int:
        task = ops.start_task(self.store, self.args.id)
        self.emit(task.model_dump(mode="json"), f"task {task.id} queued")
        return EXIT_OK

    def _control(self, control: Control) -> int:
        task = ops.control_task(self.store, self.data_dir, self.args.id, control)
        self.emit(
            task.model_dump(mode="json"), f"task {task.id}: {task.state.value} {task.phase.value}"
        )
        return EXIT_OK

    def task_stop(self) -> int:
        return self._control(Control.STOP)

    def task_requeue(self) -> int:
        return self._control(Control.REQUEUE)

    def task_move(self) -> int:
        ops.move_before(self.store, self.args.id, self.args.before)
        self.emit(
            {"id": self.args.id, "before": self.args.before},
            f"task {self.args.id} moved before task {self.args.before}",
        )
        return EXIT_OK

    def task_log(self) -> int:
        task = self.store.get_task(self.args.id)
        run = self._pick_run(task.id)
        after = -1
        while True:
            rows = self.store.read_events(run.id, after)
            for seq, data in rows:
                self.out.write(format_event(run, seq, data, self.args.json))
            if rows:
                after = rows[-1][0]
                self.out.flush()
                continue
            if not self.args.follow:
                return EXIT_OK
            run = next(r for r in self.store.list_runs(task.id) if r.id == run.id)
            if run.status is not RunStatus.RUNNING:
                if not self.store.read_events(run.id, after):
                    return EXIT_OK
                continue
            time.sleep(0.1)

    def _pick_run(self, task_id: int) -> Run:
        deadline = time.monotonic() + 3600
        while True:
            runs = self.store.list_runs(task_id)
            if self.args.run is not None:
                for run in runs:
                    if run.number == self.args.run:
                        return run
                raise UserError(f"task {task_id} has no run {self.args.run}")
            if runs:
                return runs[-1]
            task = self.store.get_task(task_id)
            if not self.args.follow or task.state is not TaskState.RUNNING:
                raise UserError(f"task {task_id} has not run yet")
            if time.monotonic() > deadline:
                raise OperationError(f"task {task_id} did not start within an hour")
            time.sleep(0.1)

    def task_diff(self) -> int:
        if self.args.since_review:
            if self.args.stat:
                raise UserError("--stat and --since-review do not go together yet")
            text = ops.diff_since_review(self.store, self.args.id)
            self.emit({"diff": text}, text)
            return EXIT_OK
        if not self.args.stat:
            text = ops.diff_text(self.store, self.args.id)
            self.emit({"diff": text}, text)
            return EXIT_OK
        task = self.store.get_task(self.args.id)
        files = ops.diff_files(self.store, task)
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
        task = ops.approve(self.store, a.id, MergeStrategy(a.strategy), a.message)
        self.emit(task.model_dump(mode="json"), f"task {task.id} merged into {task.base_branch}")
        return EXIT_OK

    def task_request_changes(self) -> int:
        task = ops.request_changes_with_comments(self.store, self.args.id, self.args.message)
        self.emit(task.model_dump(mode="json"), f"task {task.id} queued for a follow-up run")
        return EXIT_OK

    # -- review comments ----------------------------------------------------------------

    def comment_add(self) -> int:
        a = self.args
        comment = ops.add_comment(self.store, a.id, a.file, a.line, a.end_line, a.body, a.quote)
        self.emit(comment.model_dump(mode="json"), str(comment.id))
        return EXIT_OK

    def comment_list(self) -> int:
        self.store.get_task(self.args.id)
        comments = self.store.list_comments(self.args.id)
        rows = [
            f"{c.id:>4}  {'sent  ' if c.sent else 'unsent'}  {ops.comment_location(c)}"
            f"  {c.body.splitlines()[0][:60]}"
            for c in comments
        ]
        self.emit([c.model_dump(mode="json") for c in comments], "\n".join(rows) or "no comments")
        return EXIT_OK

    def comment_edit(self) -> int:
        comment = ops.edit_comment(self.store, self.args.id, self.args.body)
        self.emit(comment.model_dump(mode="json"), f"comment {comment.id} changed")
        return EXIT_OK

    def comment_delete(self) -> int:
        ops.delete_comment(self.store, self.args.id)
        self.emit({"id": self.args.id, "deleted": True}, f"comment {self.args.id} deleted")
        return EXIT_OK

    def task_discard(self) -> int:
        task = ops.discard(self.store, self.args.id, self.args.delete_branch)
        if task.branch is None:  # it never had a branch of its own
            kept = ""
        elif self.args.delete_branch:
            kept = " (branch deleted)"
        else:
            kept = f" (branch kept: {task.branch})"
        self.emit(task.model_dump(mode="json"), f"task {task.id} discarded{kept}")
        return EXIT_OK

    # -- API keys -----------------------------------------------------------------------

    def key_set(self) -> int:
        name = secrets.validate_name(self.args.name)
        secrets.set_key(name, secrets.value_from_input(read_key(name)))
        backend = secrets.backend_description()
        self.emit({"name": name, "backend": backend}, f"key {name!r} stored in {backend}")
        return EXIT_OK

    def key_list(self) -> int:
        names = secrets.list_keys()
        backend = secrets.backend_description()
        env = secrets.env_fallbacks_set()
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
        if not secrets.delete_key(name):
            raise UserError(f"no key {name!r} is set in the keyring")
        self.emit({"name": name, "deleted": True}, f"key {name!r} deleted")
        return EXIT_OK

    def agents_doctor(self) -> int:
        from seedbed.agents.cli.doctor import check_all

        found = asyncio.run(check_all())
        rows = [
            f"{f.label:<12} "
            + (
                f"{f.version or '?':<10} {'supported' if f.supported else 'NOT SUPPORTED'}"
                f"  {f.path}"
                if f.path
                else f"not found    {f.hint}"
            )
            for f in found
        ]
        self.emit([f.model_dump() for f in found], "\n".join(rows))
        return EXIT_OK

    # -- the engine ---------------------------------------------------------------------

    def run(self) -> int:
        if self.args.max_parallel is None:
            self.args.max_parallel = load_settings(self.data_dir).max_parallel
        if self.args.max_parallel < 1:
            raise UserError("--max-parallel must be at least 1")
        lock = EngineLock(self.data_dir)
        lock.acquire(wait=1.0)
        try:
            engine = Engine(self.store, self.data_dir, self.args.max_parallel)
            if not self.args.json:
                queued = len(self.store.list_tasks(states=[TaskState.RUNNING]))
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
            asyncio.run(self._serve(engine))
            if self.args.json:
                tasks = [self.store.get_task(task_id) for task_id in sorted(self._last_seen)]
                self.emit([t.model_dump(mode="json") for t in tasks], "")
        finally:
            lock.release()
        return EXIT_OK

    async def _serve(self, engine: Engine) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, engine.shutdown)
        await engine.serve(until_idle=self.args.until_idle)

    def _last_seen_task(self, task_id: int) -> None:
        task = self.store.get_task(task_id)
        self._last_seen[task_id] = (task.state, task.phase)

    def _print_task(self, task_id: int) -> None:
        task = self.store.get_task(task_id)
        seen = (task.state, task.phase)
        if self._last_seen.get(task_id) == seen:
            return
        self._last_seen[task_id] = seen
        stamp = time.strftime("%H:%M:%S")
        self.out.write(f"{stamp} task {task.id} {task.state.value} {task.phase.value}\n")
        self.out.flush()


def usage_line(runs: list[dict[str, Any]]) -> str:
    """Tokens, cost and the fullest context over a task's runs, when a model was used."""
    tokens_in = sum(r["tokens_in"] for r in runs)
    tokens_out = sum(r["tokens_out"] for r in runs)
    if not tokens_in and not tokens_out:
        return ""
    cost = sum(r["cost_usd"] for r in runs)
    fill = max(r["context_fill"] for r in runs)
    return f"  tokens {tokens_in} in, {tokens_out} out, ${cost:.4f}, context up to {fill:.0%}\n"


def describe(profile: AgentProfile) -> str:
    if profile.kind is AgentKind.BUILTIN and profile.provider is not None:
        return f"{profile.provider.value} {profile.model} {profile.effective_base_url()}"
    return profile.command


def read_key(name: str) -> str:
    """A key from standard input: a prompt without echo on a terminal, else all of it."""
    stdin = sys.stdin
    try:
        if stdin is None:
            return ""
        if stdin.isatty():
            return getpass.getpass(f"API key for {name!r} (input is not shown): ")
        return stdin.read(secrets.MAX_VALUE_LENGTH + 3)
    except EOFError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:  # the message could quote the input
        raise UserError(f"cannot read the key from standard input ({type(exc).__name__})") from None


def format_event(run: Run, seq: int, data: str, as_json: bool) -> str:
    """One stored event as a line of `task log` (or as its JSON, with run and seq)."""
    if as_json:
        return f'{{"run": {run.number}, "seq": {seq}, {data[1:]}\n'
    event = json.loads(data)
    kind = event["kind"]
    if kind == "output":
        prefix = "" if event["stream"] == "stdout" else f"[{event['stream']}] "
        cut = f" … [{event['cut']} bytes cut]" if event.get("cut") else ""
        return f"{prefix}{event['line']}{cut}\n"
    if kind == "status":
        return f"── {event['message']}\n"
    if kind == "error":
        return f"error: {event['message']}\n"
    if kind == "text":
        # Streamed pieces are for live views; the whole answer follows them.
        return "" if event.get("delta") else event["text"].rstrip("\n") + "\n"
    if kind == "tool_call":
        arguments = json.dumps(event["arguments"], ensure_ascii=False)
        if len(arguments) > 200:
            arguments = arguments[:199] + "…"
        return f"→ {event['name']} {arguments}\n"
    if kind == "tool_result":
        lines = event["output"].splitlines() or [""]
        more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
        mark = "✗" if event["is_error"] else "←"
        return f"{mark} {event['name']}: {lines[0][:160]}{more}\n"
    if kind == "usage":
        return (
            f"·· tokens {event['tokens_in']} in, {event['tokens_out']} out, "
            f"${event['cost_usd']:.4f}, context {event['context_fill']:.0%}\n"
        )
    return json.dumps(event) + "\n"


def join_extra_args(argv: Sequence[str]) -> list[str]:
    """`--extra-arg --flag` as `--extra-arg=--flag`: argparse would take a value that
    starts with a dash for an option of ours, and nearly every CLI flag does."""
    joined: list[str] = []
    items = iter(argv)
    for item in items:
        if item == "--extra-arg":
            value = next(items, None)
            joined.append(item if value is None else f"--extra-arg={value}")
        else:
            joined.append(item)
    return joined


GuiLauncher = Callable[[Path, Path | None, int | None, str | None], int]


def main(
    argv: Sequence[str] | None = None,
    out: TextIO | None = None,
    gui: GuiLauncher | None = None,
) -> int:
    """The command line. Without a command (or with `gui`) it opens the window through
    `gui(data_dir, screenshot, select, size)`, which __main__ passes in: the CLI itself
    never loads Qt. Without a launcher, it prints the help."""
    parser = build_parser()
    args = parser.parse_args(join_extra_args(sys.argv[1:] if argv is None else argv))
    if args.cmd is None and gui is None:
        parser.print_help(out or sys.stdout)
        return EXIT_OK
    name = args.cmd if args.cmd == "run" else f"{args.cmd}_{getattr(args, 'act', '')}"
    try:
        if args.cmd in (None, "gui"):
            if gui is None:
                raise UserError("this entry point cannot open the window; run `seedbed gui`")
            data_dir = resolve_data_dir(args.data_dir)
            return gui(
                data_dir,
                getattr(args, "screenshot", None),
                getattr(args, "select", None),
                getattr(args, "size", None),
            )
        cli = Cli(args, out or sys.stdout)
        handler: Callable[[], int] = getattr(cli, name.replace("-", "_"))
        return handler()
    except UserError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
    except SeedbedError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
