"""The argument parser: every command, option and its help."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from seedbed import __version__
from seedbed.cli.model_options import add_field_options, number
from seedbed.cli.text import EXIT_USAGE
from seedbed.domain.diffs import Comment
from seedbed.domain.errors import UserError
from seedbed.domain.models import (
    AgentKind,
    AgentProfile,
    MergeStrategy,
    Project,
    Run,
    Settings,
    Task,
    TaskState,
)

# Ids and numbers typed on the command line, checked against the bounds their models
# declare (an id past SQLite's integers is an `error:` line, not a traceback).
TASK_ID = number(Task, "id", "the task id")
COMMENT_ID = number(Comment, "id", "the comment id")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one `error:` line and exit 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(EXIT_USAGE)


# Project settings as options: every field but its identity, by these names where the
# option's name is not the field's; the roles take a profile's name ("": none).
PROJECT_SETTINGS = [name for name in Project.model_fields if name not in ("id", "name", "path")]
PROJECT_ROLES = ("executor_profile_id", "planner_profile_id", "reviewer_profile_id")
SANDBOX_FLAGS = {
    "allowed_hosts": "allow_host",
    "sandbox_paths": "sandbox_path",
    "sandbox_env": "sandbox_env",
}
PROJECT_FLAGS = {
    "base_branch": "base",
    "setup_command": "setup",
    "check_command": "check",
    "copy_globs": "copy",
    "executor_profile_id": "executor",
    **SANDBOX_FLAGS,
    "planner_profile_id": "planner",
    "reviewer_profile_id": "reviewer",
}
PROJECT_METAVARS = {
    "base_branch": "BRANCH",
    "copy_globs": "GLOB",
    "diff_budget": "LINES",
    "check_timeout": "SECONDS",
    "allowed_hosts": "HOST",
    "sandbox_paths": "PATH",
    "sandbox_env": "NAME",
    **dict.fromkeys(PROJECT_ROLES, "PROFILE"),
}
# Profile settings as options: every field but its identity and kind.
PROFILE_SETTINGS = [
    name for name in AgentProfile.model_fields if name not in ("id", "name", "kind")
]
PROFILE_FLAGS = {
    "extra_args": "extra_arg",
    "permission_rules": "permission_rule",
    **SANDBOX_FLAGS,
}
PROFILE_METAVARS = {
    "base_url": "URL",
    "key_name": "NAME",
    "binary": "PATH",
    "extra_args": "ARG",
    "permission_mode": "MODE",
    "permission_rules": "RULE",
    "allowed_hosts": "HOST",
    "sandbox_paths": "PATH",
    "sandbox_env": "NAME",
    **dict.fromkeys(
        ("timeout", "grace_seconds", "idle_timeout", "read_timeout", "max_call_seconds"), "SECONDS"
    ),
    "max_event_bytes": "BYTES",
    **dict.fromkeys(("context_window", "token_budget", "max_output_tokens"), "TOKENS"),
    **dict.fromkeys(("price_in", "price_out"), "USD_PER_MTOK"),
    **dict.fromkeys(("context_warn", "context_stop"), "FRACTION"),
}


def project_options(p: argparse.ArgumentParser) -> None:
    add_field_options(
        p.add_argument_group("settings (as in Settings → Projects)"),
        Project,
        PROJECT_SETTINGS,
        PROJECT_FLAGS,
        PROJECT_METAVARS,
        text_fields=PROJECT_ROLES,
    )


def profile_options(p: argparse.ArgumentParser) -> None:
    add_field_options(
        p.add_argument_group("settings (each says which kinds of agent use it)"),
        AgentProfile,
        PROFILE_SETTINGS,
        PROFILE_FLAGS,
        PROFILE_METAVARS,
    )


def mcp_server_options(p: argparse.ArgumentParser, adding: bool = True) -> None:
    """Which runs get a saved MCP server, and (adding) its variables and headers."""
    place = p.add_mutually_exclusive_group()
    place.add_argument("--project", metavar="ID_OR_NAME", help="only this project's runs")
    if not adding:
        place.add_argument("--all-projects", action="store_true", help="every project's runs")
    profiles = p.add_mutually_exclusive_group()
    profiles.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NAME",
        help="only this profile's runs (repeatable; default: every profile)",
    )
    if not adding:
        profiles.add_argument("--all-profiles", action="store_true", help="every profile's runs")
        return
    for flag, metavar, text in (
        ("--env", "NAME=VALUE", "stdio: a variable for it (kept in Seedbed's database)"),
        ("--env-key", "NAME=KEY", "stdio: a variable set to the keyring key KEY at each run"),
        ("--header", "NAME=VALUE", "HTTP: a header (kept in Seedbed's database)"),
        ("--header-key", "NAME=KEY", "HTTP: a header set to the keyring key KEY at each run"),
    ):
        p.add_argument(flag, action="append", default=[], metavar=metavar, help=text)


def budget_options(p: argparse.ArgumentParser, default: float | None = 0.0) -> None:
    """A task's budgets: enforced by the engine, a run stopped with its work committed."""
    p.add_argument(
        "--budget-usd",
        type=number(Task, "budget_usd", "--budget-usd"),
        default=default,
        metavar="X",
        help="dollars",
    )
    tokens_default = None if default is None else 0
    p.add_argument(
        "--budget-tokens",
        type=number(Task, "budget_tokens", "--budget-tokens"),
        default=tokens_default,
        metavar="N",
    )
    p.add_argument(
        "--time-limit",
        type=number(Task, "time_limit_s", "--time-limit", per=60),
        default=default,
        metavar="MINUTES",
        help="all its runs",
    )


GUI_HELP = "open the window (the default without a command)"


def place_options(parser: argparse.ArgumentParser) -> None:
    """Where the data is and which engine to talk to (before the command)."""
    parser.add_argument("--data-dir", help="where Seedbed keeps its data (env SEEDBED_DATA_DIR)")
    parser.add_argument(
        "--engine-socket",
        metavar="PATH",
        help="talk to the engine at this socket (e.g. one `ssh -L` forwards) instead of "
        "the data dir's own (env SEEDBED_ENGINE_SOCKET)",
    )


def window_options(p: argparse.ArgumentParser) -> None:
    """`seedbed gui`'s options."""
    p.add_argument(
        "--screenshot",
        type=Path,
        metavar="FILE",
        help="render the window offscreen from the data dir's state, save a PNG and exit",
    )
    p.add_argument("--select", type=TASK_ID, metavar="TASK_ID", help="select this task's card")
    # `seedbed doctor` starts Qt this way, in a process of its own: does it start here?
    p.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--size", metavar="WxH", help="window size, e.g. 1400x850")
    p.add_argument(
        "--view",
        choices=["board", "foreground", "review", "new-task", "projects", "profiles", "keys"],
        default="board",
        help="with --screenshot: the board, the foreground view, the --select task's "
        "review, the New task dialog, or that tab of Settings",
    )


class NotTheWindow(Exception):
    """What `window_args` raises instead of printing: the whole parser says it instead."""


class WindowParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise NotTheWindow(message)


def window_args(argv: Sequence[str]) -> argparse.Namespace | None:
    """The arguments of `seedbed [--data-dir D] [--engine-socket S] [gui [OPTIONS]]`, the
    window's start, parsed by a parser of only those options; None for anything else
    (another command, --help, a mistake), which `build_parser()` then parses. Building
    every command's parser is ~10 ms of a start-up measured against a bare Qt window."""
    parser = WindowParser(prog="seedbed", add_help=False)
    place_options(parser)
    commands = parser.add_subparsers(dest="cmd", parser_class=WindowParser)
    window_options(commands.add_parser("gui", add_help=False))
    try:
        return parser.parse_args(argv)
    except (NotTheWindow, UserError):
        return None


def build_parser() -> Parser:
    parser = Parser(
        prog="seedbed", description="Run AI coding agents in parallel, one worktree each."
    )
    parser.add_argument("--version", action="version", version=f"seedbed {__version__}")
    parser.add_argument(
        "--install-desktop-entry",
        action="store_true",
        help="add Seedbed to your desktop's launcher (entry and icons, for this user)",
    )
    parser.add_argument(
        "--install-service",
        action="store_true",
        help="write a systemd user unit that runs the data dir's engine from login on",
    )
    place_options(parser)
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
    project_options(p)
    p = project.add_parser("set", parents=[common], help="change a project's settings")
    p.add_argument("project", metavar="ID_OR_NAME")
    project_options(p)
    p = project.add_parser(
        "remove",
        parents=[common],
        help="take a project off Seedbed (refused while tasks of it run or await review)",
    )
    p.add_argument("project", metavar="ID_OR_NAME")
    p.add_argument(
        "--delete-branches",
        action="store_true",
        help="also remove its tasks' worktrees and branches (kept by default)",
    )
    project.add_parser("list", parents=[common], help="list projects")
    p = project.add_parser("show", parents=[common], help="a project's settings")
    p.add_argument("project", metavar="ID_OR_NAME")

    profile = commands.add_parser("profile", help="agent profiles").add_subparsers(
        dest="act", required=True, parser_class=Parser, metavar="ACTION"
    )
    p = profile.add_parser("add", parents=[common], help="add an agent profile")
    p.add_argument("name")
    p.add_argument("--kind", choices=[k.value for k in AgentKind], required=True)
    profile_options(p)
    p = profile.add_parser("set", parents=[common], help="change an agent profile")
    p.add_argument("name")
    p.add_argument("--rename", metavar="NEW_NAME", help="give it a new name")
    p.add_argument("--kind", choices=[k.value for k in AgentKind])
    profile_options(p)
    p = profile.add_parser(
        "remove",
        parents=[common],
        help="remove a profile (refused while tasks on the board use it)",
    )
    p.add_argument("name")
    profile.add_parser("list", parents=[common], help="list profiles")
    p = profile.add_parser("show", parents=[common], help="a profile's settings")
    p.add_argument("name")

    mcp = commands.add_parser(
        "mcp", help="your MCP servers, given to every agent's runs; Seedbed as one"
    ).add_subparsers(dest="act", required=True, parser_class=Parser, metavar="ACTION")
    mcp.add_parser(
        "serve",
        parents=[common],
        help="serve the board over stdio to an MCP client (your own assistant): list, "
        "add, start, status, comment, approve (when the settings allow it)",
    )
    p = mcp.add_parser(
        "add",
        parents=[common],
        usage="seedbed mcp add NAME [OPTIONS] (-- COMMAND [ARG ...] | --url URL)",
        help="save an MCP server: `mcp add NAME -- COMMAND ARG…` (stdio) or "
        "`mcp add NAME --url URL` (streamable HTTP)",
        epilog="Everything after `--` is the stdio server's command and its arguments.",
    )
    p.add_argument("name")
    p.add_argument("--url", default="", help="HTTP: the server's URL")
    mcp_server_options(p)
    p = mcp.add_parser("set", parents=[common], help="change which runs get a saved server")
    p.add_argument("name")
    mcp_server_options(p, adding=False)
    enabled = p.add_mutually_exclusive_group()
    enabled.add_argument(
        "--enable", dest="enabled", action="store_true", default=None, help="give it to runs"
    )
    enabled.add_argument(
        "--disable", dest="enabled", action="store_false", help="keep it, give it to no run"
    )
    p = mcp.add_parser("remove", parents=[common], help="forget a saved MCP server")
    p.add_argument("name")
    mcp.add_parser(
        "list", parents=[common], help="the saved servers (variables and headers by name only)"
    )

    task = commands.add_parser("task", help="tasks on the board").add_subparsers(
        dest="act", required=True, parser_class=Parser, metavar="ACTION"
    )
    p = task.add_parser("add", parents=[common], help="add a planned task")
    p.add_argument("--project", required=True, metavar="ID_OR_NAME")
    p.add_argument("--title", required=True)
    prompt = p.add_mutually_exclusive_group()
    prompt.add_argument("--prompt", default="")
    prompt.add_argument("--prompt-file", type=Path)
    p.add_argument(
        "--profile",
        help="agent profile name (default: the project's executor, else the first that can run)",
    )
    p.add_argument("--start", action="store_true", help="queue it at once")
    p.add_argument(
        "--foreground", action="store_true", help="pin it to the window's foreground view"
    )
    p.add_argument(
        "--after",
        type=number(Task, "after", "--after"),
        action="append",
        default=[],
        metavar="ID",
        help="start only once task ID is merged (repeatable)",
    )
    budget_options(p)
    p.add_argument(
        "--reviewer",
        metavar="PROFILE",
        help="a fresh run of it reviews each change",
    )
    p.add_argument(
        "--auto-merge",
        action="store_true",
        help="merge without you once the checks pass (and the reviewer approves)",
    )
    p.add_argument("--plan-first", action="store_true", help="a planner writes a plan first")
    p.add_argument("--planner", metavar="PROFILE", help="who plans (default: --profile)")
    p.add_argument(
        "--auto-approve-plan", action="store_true", help="go on to the code without asking you"
    )
    p = task.add_parser("budget", parents=[common], help="change a task's budgets (0: none)")
    p.add_argument("id", type=TASK_ID)
    budget_options(p, default=None)
    p = task.add_parser("wait", parents=[common], help="make a task wait for others' merges")
    p.add_argument("id", type=TASK_ID)
    wait = p.add_mutually_exclusive_group(required=True)
    wait.add_argument(
        "--after",
        type=number(Task, "after", "--after"),
        action="append",
        metavar="ID",
        help="(repeatable)",
    )
    wait.add_argument("--none", action="store_true", help="wait for nothing")
    p = task.add_parser("list", parents=[common], help="list tasks in board order")
    p.add_argument("--project", metavar="ID_OR_NAME")
    p.add_argument("--state", choices=[s.value for s in TaskState])
    p = task.add_parser("show", parents=[common], help="one task in detail")
    p.add_argument("id", type=TASK_ID)
    for name, text in [
        ("start", "queue a task (or resume an interrupted one)"),
        ("stop", "stop its run: → awaiting review / interrupted"),
        ("requeue", "stop its run and put it back in Planned"),
    ]:
        task.add_parser(name, parents=[common], help=text).add_argument("id", type=TASK_ID)
    p = task.add_parser("answer", parents=[common], help="answer the question its agent asks")
    p.add_argument("id", type=TASK_ID)
    p.add_argument("text", help="the answer (the agent reads it as its question's result)")
    p.add_argument(
        "--question",
        type=int,
        default=None,
        metavar="QID",
        help="answer only this question (its id, as `task show --json` gives it): never "
        "the next one, if this one was answered meanwhile",
    )
    p = task.add_parser("pin", parents=[common], help="pin to (or --off: take off) the foreground")
    p.add_argument("id", type=TASK_ID)
    p.add_argument("--off", action="store_true")
    p = task.add_parser(
        "plan", parents=[common], help="print the task's plan; --approve, --edit or send back"
    )
    p.add_argument("id", type=TASK_ID)
    plan = p.add_mutually_exclusive_group()
    plan.add_argument(
        "--edit", type=Path, metavar="FILE", help="replace the plan with FILE's text (- for stdin)"
    )
    plan.add_argument("--approve", action="store_true", help="the executor runs with it")
    plan.add_argument(
        "--request-changes", metavar="TEXT", help="back to the planner with this comment"
    )
    p = task.add_parser("move", parents=[common], help="change the board order")
    p.add_argument("id", type=TASK_ID)
    p.add_argument(
        "--before", type=number(Task, "id", "--before"), required=True, metavar="OTHER_ID"
    )
    p = task.add_parser("log", parents=[common], help="a run's events")
    p.add_argument("id", type=TASK_ID)
    p.add_argument(
        "--run",
        type=number(Run, "number", "--run"),
        metavar="N",
        help="run number (default: the last)",
    )
    p.add_argument("--follow", action="store_true", help="keep printing until the run ends")
    p.add_argument(
        "--jsonl",
        action="store_true",
        help="one JSON object per event, as they come (with --follow too); --json prints "
        "one document: the task's runs (all, or --run N) with their events",
    )
    p = task.add_parser("diff", parents=[common], help="the task's change against its base")
    p.add_argument("id", type=TASK_ID)
    p.add_argument("--stat", action="store_true")
    p.add_argument(
        "--since-review", action="store_true", help="only what changed since changes were requested"
    )
    p = task.add_parser("approve", parents=[common], help="merge into the base branch")
    p.add_argument("id", type=TASK_ID)
    p.add_argument("--strategy", choices=[s.value for s in MergeStrategy], default="squash")
    p.add_argument("--message", default="")
    p.add_argument(
        "--no-recheck",
        action="store_true",
        help="land without running the checks on the merge result (when they did not "
        "already pass on that exact tree)",
    )
    branch = p.add_mutually_exclusive_group()
    branch.add_argument(
        "--keep-branch",
        dest="delete_branch",
        action="store_false",
        default=None,
        help="keep the task's branch (default: deleted once merged, as the settings say)",
    )
    branch.add_argument(
        "--delete-branch",
        dest="delete_branch",
        action="store_true",
        default=None,
        help="delete the task's branch once merged, whatever the settings say",
    )
    p = task.add_parser(
        "fix-merge",
        parents=[common],
        help="after the checks failed on the merge result: the agent merges the base "
        "branch into the task's branch and fixes them",
    )
    p.add_argument("id", type=TASK_ID)
    p = task.add_parser(
        "resolve-conflict",
        parents=[common],
        help="ask the agent to merge the base branch into the task's branch and resolve it",
    )
    p.add_argument("id", type=TASK_ID)
    p = task.add_parser(
        "request-changes", parents=[common], help="send it back with its unsent comments"
    )
    p.add_argument("id", type=TASK_ID)
    p.add_argument("--message", default="", help="required when there are no unsent comments")
    p = task.add_parser("discard", parents=[common], help="archive it (work kept on its branch)")
    p.add_argument("id", type=TASK_ID)
    p.add_argument("--delete-branch", action="store_true")

    comment = commands.add_parser(
        "comment", help="review comments on a task's diff"
    ).add_subparsers(dest="act", required=True, parser_class=Parser, metavar="ACTION")
    p = comment.add_parser("add", parents=[common], help="comment on a file or lines of it")
    p.add_argument("id", type=TASK_ID, metavar="TASK_ID")
    p.add_argument("--file", required=True, metavar="PATH")
    p.add_argument(
        "--line",
        type=number(Comment, "line", "--line"),
        metavar="N",
        help="new-file line (default: whole file)",
    )
    p.add_argument(
        "--end-line",
        type=number(Comment, "end_line", "--end-line"),
        metavar="M",
        help="last line of a selection",
    )
    p.add_argument("--body", required=True, metavar="TEXT")
    p.add_argument("--quote", default="", metavar="TEXT", help="default: those lines now")
    p = comment.add_parser("list", parents=[common], help="a task's comments, sent ones too")
    p.add_argument("id", type=TASK_ID, metavar="TASK_ID")
    p = comment.add_parser("edit", parents=[common], help="change an unsent comment's text")
    p.add_argument("id", type=COMMENT_ID, metavar="COMMENT_ID")
    p.add_argument("--body", required=True, metavar="TEXT")
    p = comment.add_parser("delete", parents=[common], help="remove an unsent comment")
    p.add_argument("id", type=COMMENT_ID, metavar="COMMENT_ID")

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

    window_options(commands.add_parser("gui", help=GUI_HELP))

    p = commands.add_parser(
        "doctor", parents=[common], help="what Seedbed finds here: Qt, keyring, git, agent CLIs"
    )
    p.add_argument(
        "--restore-backup",
        action="store_true",
        help="put the newest good backup in place of a damaged database (kept aside); "
        "refused while an engine runs",
    )
    p = commands.add_parser("run", parents=[common], help="run the engine in the foreground")
    p.add_argument(
        "--max-parallel",
        type=number(Settings, "max_parallel", "--max-parallel"),
        default=None,
        metavar="N",
        help="agents at once (default: the settings' max_parallel, 4 unless changed)",
    )
    p.add_argument("--until-idle", action="store_true", help="exit once nothing runs or waits")

    engine = commands.add_parser(
        "engine", help="the engine of the data dir, in the background"
    ).add_subparsers(dest="act", required=True, parser_class=Parser, metavar="ACTION")
    serve = engine.add_parser(
        "serve", parents=[common], help="run the engine in the foreground (what start runs)"
    )
    serve.add_argument(
        "--paused",
        action="store_true",
        help="start no queued task (what `gui --screenshot` runs when no engine does)",
    )
    engine.add_parser(
        "start", parents=[common], help="start the engine in the background (logs to engine.log)"
    )
    engine.add_parser(
        "status", parents=[common], help="whether the engine runs (exit status 1 if not)"
    )
    engine.add_parser(
        "stop", parents=[common], help="stop the engine: its runs stop with their work committed"
    )

    return parser


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


def split_server_command(argv: list[str]) -> tuple[list[str], list[str]]:
    """`seedbed mcp add NAME [OPTIONS] -- COMMAND ARG…` as our arguments and the server's
    command: argparse cannot take a positional list after a subcommand's options, and
    the command's own options (`-y`) must not be read as ours."""
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    if not any(argv[i : i + 2] == ["mcp", "add"] for i in range(cut - 1)):
        return argv, []
    return argv[:cut], argv[cut + 1 :]
