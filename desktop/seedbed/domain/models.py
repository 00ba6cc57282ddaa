"""Pydantic models for everything Seedbed saves or passes between layers."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypedDict
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict


class TaskState(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    AWAITING_REVIEW = "awaiting_review"
    MERGED = "merged"
    DISCARDED = "discarded"


class Phase(StrEnum):
    DRAFT = "draft"
    # running
    QUEUED = "queued"
    PREPARING = "preparing"
    PLANNING = "planning"
    IMPLEMENTING = "implementing"
    CHECKING = "checking"
    REVIEWING = "reviewing"
    # awaiting_review
    READY = "ready"
    PLAN_READY = "plan_ready"
    CHECKS_FAILED = "checks_failed"
    AGENT_FAILED = "agent_failed"
    CONFLICT = "conflict"
    INTERRUPTED = "interrupted"
    NEEDS_INPUT = "needs_input"  # its agent, still running, waits for the user's answer
    MERGING = "merging"  # approved: queued for its merge, or its merge result is checked
    MERGE_CHECKS_FAILED = "merge_checks_failed"
    # merged, discarded
    NONE = ""


class RunKind(StrEnum):
    PLAN = "plan"
    IMPLEMENT = "implement"
    FIX = "fix"
    REVIEW = "review"
    MERGE = "merge"  # no agent: the project's checks on the merge result, before it lands


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"
    TIMED_OUT = "timed_out"
    INTERRUPTED = "interrupted"


class CheckStatus(StrEnum):
    NONE = "none"
    PASSED = "passed"
    FAILED = "failed"


class MergeStrategy(StrEnum):
    SQUASH = "squash"
    MERGE = "merge"
    REBASE = "rebase"


class OnQuit(StrEnum):
    """What closing the window does while agents run."""

    ASK = "ask"
    KEEP = "keep"  # the window closes; the engine keeps running them in the background
    STOP = "stop"  # their runs stop (work committed), then the window closes


class AgentKind(StrEnum):
    COMMAND = "command"
    BUILTIN = "builtin"
    CLAUDE_CODE = "claude-code"
    CODEX = "codex"
    AIDER = "aider"
    GEMINI = "gemini"
    OPENCODE = "opencode"


class ProviderKind(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"


DEFAULT_BASE_URLS: dict[ProviderKind, str] = {
    ProviderKind.OPENAI: "https://api.openai.com/v1",
    ProviderKind.ANTHROPIC: "https://api.anthropic.com",
}


class SandboxNetwork(StrEnum):
    """What a sandboxed run may reach: only the model's API and the hosts listed (through
    Seedbed's filtering proxy), nothing, or everything."""

    MODEL = "model"
    NONE = "none"
    FULL = "full"


class Control(StrEnum):
    """A request one process leaves on a task for the engine that owns its run."""

    NONE = ""
    STOP = "stop"
    STOP_NOW = "stop_now"  # asked again while stopping: the stop's own commit is cut too
    REQUEUE = "requeue"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


# The bounds of every number a user types (the command line's options and ids, the
# window's forms), declared once here: SQLite stores no integer above 2**63-1, and a sane
# cap keeps inf, NaN and 1e308 out of budgets and timeouts (and out of `--json`, which
# cannot say Infinity). domain/bounds.py words a value outside them for the user.
SQLITE_MAX_INT = 2**63 - 1
MAX_COUNT = 2_000_000_000  # tokens, lines, turns: the window's spin boxes are 32-bit
MAX_USD = 1_000_000.0
MAX_SECONDS = 366 * 24 * 3600.0  # a year
MAX_FIX_ROUNDS = 10

RowId = Annotated[int, Field(ge=0, le=SQLITE_MAX_INT)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Dollars = Annotated[float, Field(ge=0, le=MAX_USD, allow_inf_nan=False)]
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]


class Project(Model):
    id: RowId = 0
    name: str = Field(description="Short unique name shown in selectors and accepted by --project.")
    path: Path = Field(description="The main checkout of the repository.")
    base_branch: str = Field(description="Tasks branch from here and merge back into it.")
    setup_command: str = Field("", description="Run in each new worktree before the agent starts.")
    check_command: str = Field("", description="The project's checks, run after every agent run.")
    copy_globs: list[str] = Field(
        default_factory=list, description="Files copied from the main checkout into new worktrees."
    )
    diff_budget: Count = Field(0, description="Lines one review should hold; 0 means no budget.")
    check_timeout: float = Field(
        1800.0,
        gt=0,
        le=MAX_SECONDS,
        allow_inf_nan=False,
        description="Seconds the setup or check command may take.",
    )
    fix_rounds: int = Field(
        2,
        ge=0,
        le=MAX_FIX_ROUNDS,
        description="When the checks fail after a run, this many follow-up runs get the "
        "failing output to fix it, before the task waits for review.",
    )
    budget_usd: Dollars = Field(0.0, description="Dollars all its tasks may spend; 0: no limit.")
    budget_tokens: Count = Field(0, description="Tokens all its tasks may use; 0: no limit.")
    executor_profile_id: int | None = Field(
        None, description="Its tasks' agent unless they name one (else the first that can run)."
    )
    planner_profile_id: int | None = Field(None, description="Its tasks' planner by default.")
    reviewer_profile_id: int | None = Field(None, description="Its tasks' reviewer by default.")
    agents_start_tasks: bool = Field(
        False,
        description="Tasks its agents add (Seedbed's create_task) start at once; off: they "
        "wait in Planned for you.",
    )
    check_network: SandboxNetwork = Field(
        SandboxNetwork.NONE,
        description="What the setup and check commands may reach when its tasks' agent is "
        "sandboxed: model (the hosts listed), none or full.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts its sandboxed agents and commands may reach besides the model's "
        "API (host, host:port, *.domain), e.g. a package index.",
    )
    sandbox_paths: list[str] = Field(
        default_factory=list,
        description="Paths its sandboxed agents and commands see, read-only (rw:PATH: "
        "writable), e.g. a package cache or a toolchain.",
    )
    sandbox_env: list[str] = Field(
        default_factory=list,
        description="Variables its sandboxed agents and commands keep though their names "
        "look like a secret's (…_TOKEN, …_PASSWORD, …_SECRET), e.g. a test database's.",
    )


CLI_KINDS: tuple[AgentKind, ...] = (
    AgentKind.CLAUDE_CODE,
    AgentKind.CODEX,
    AgentKind.AIDER,
    AgentKind.GEMINI,
    AgentKind.OPENCODE,
)


def _kinds(*kinds: AgentKind) -> JsonDict:
    """`json_schema_extra` of an AgentProfile field: the agent kinds that use it."""
    return {"kinds": [kind.value for kind in kinds]}


_ALL = tuple(AgentKind)
_PROCESSES = (AgentKind.COMMAND, *CLI_KINDS)
_MODELS = (AgentKind.BUILTIN, *CLI_KINDS)
_ACCOUNTED = (AgentKind.BUILTIN, AgentKind.AIDER)
# The kinds whose processes Seedbed can sandbox.
_SANDBOXED = tuple(AgentKind)  # every kind runs in it


class AgentProfile(Model):
    """How to run an agent. Each field names the kinds that use it (`kinds` in its
    json_schema_extra, read by `profile_fields`), so one declaration serves the CLI, the
    store and the settings dialog."""

    id: RowId = 0
    name: str = Field(
        description="A unique name, as tasks and --profile refer to it.",
        json_schema_extra=_kinds(*_ALL),
    )
    kind: AgentKind = Field(
        AgentKind.COMMAND, description="Which agent runs.", json_schema_extra=_kinds(*_ALL)
    )
    command: str = Field(
        "",
        description="command: run through /bin/sh -c in the worktree.",
        json_schema_extra=_kinds(AgentKind.COMMAND),
    )
    timeout: float | None = Field(
        None,
        gt=0,
        le=MAX_SECONDS,
        allow_inf_nan=False,
        description="command and CLI agents: seconds a run may take before it is stopped.",
        json_schema_extra=_kinds(*_PROCESSES),
    )
    grace_seconds: Seconds = Field(
        5.0,
        description="command and CLI agents: seconds between SIGTERM and SIGKILL on stop.",
        json_schema_extra=_kinds(*_PROCESSES),
    )
    provider: ProviderKind | None = Field(
        None,
        description="builtin: the model API it speaks.",
        json_schema_extra=_kinds(AgentKind.BUILTIN),
    )
    model: str = Field(
        "",
        description="builtin and CLI agents: the model's name.",
        json_schema_extra=_kinds(*_MODELS),
    )
    base_url: str = Field(
        "",
        description="builtin and CLI agents: the API's base URL.",
        json_schema_extra=_kinds(*_MODELS),
    )
    key_name: str = Field(
        "",
        description="the keyring entry; empty: the provider's for its own API, else the "
        "server's host (builtin), or none (CLI and command agents: a command gets the key "
        "it names in $SEEDBED_API_KEY).",
        json_schema_extra=_kinds(*_MODELS, AgentKind.COMMAND),
    )
    context_window: int = Field(
        128_000,
        ge=1,
        le=MAX_COUNT,
        description="builtin, Aider: the model's context in tokens.",
        json_schema_extra=_kinds(*_ACCOUNTED),
    )
    max_turns: int = Field(
        50,
        ge=1,
        le=MAX_COUNT,
        description="builtin: model calls per run at most.",
        json_schema_extra=_kinds(AgentKind.BUILTIN),
    )
    max_tries: int = Field(
        5,
        ge=1,
        le=MAX_COUNT,
        description="builtin: attempts per model call (with retries).",
        json_schema_extra=_kinds(AgentKind.BUILTIN),
    )
    price_in: Dollars = Field(
        0.0,
        description="builtin, Aider: USD per million input tokens.",
        json_schema_extra=_kinds(*_ACCOUNTED),
    )
    price_out: Dollars = Field(
        0.0,
        description="builtin, Aider: USD per million output tokens.",
        json_schema_extra=_kinds(*_ACCOUNTED),
    )
    context_warn: float = Field(
        0.6,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="builtin: context fill that is logged as a warning.",
        json_schema_extra=_kinds(AgentKind.BUILTIN),
    )
    context_stop: float = Field(
        0.85,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="builtin: context fill at which a run ends.",
        json_schema_extra=_kinds(AgentKind.BUILTIN),
    )
    token_budget: Count = Field(
        0,
        description="builtin: tokens (in + out) per run; 0: no budget.",
        json_schema_extra=_kinds(AgentKind.BUILTIN),
    )
    max_output_tokens: int = Field(
        8192,
        ge=1,
        le=MAX_COUNT,
        description="builtin, Aider: the longest answer to ask for.",
        json_schema_extra=_kinds(*_ACCOUNTED),
    )
    binary: str = Field(
        "",
        description="CLI agents: the executable; empty for the usual name.",
        json_schema_extra=_kinds(*CLI_KINDS),
    )
    permission_mode: str = Field(
        "",
        description="CLI agents but Aider: what the agent may do unasked.",
        json_schema_extra=_kinds(*(kind for kind in CLI_KINDS if kind is not AgentKind.AIDER)),
    )
    permission_rules: list[str] = Field(
        default_factory=list,
        description="Claude Code, Gemini CLI, OpenCode: what it may do unasked, refused, or "
        "asked about (allow:Bash(pytest*), deny:Bash(git push*), ask:Bash); Claude Code asks "
        "Seedbed what no rule answers, Gemini CLI and OpenCode get the Bash rules as their "
        "own (an ask refused).",
        json_schema_extra={
            **_kinds(AgentKind.CLAUDE_CODE, AgentKind.GEMINI, AgentKind.OPENCODE),
            "split": "shell",
        },
    )
    extra_args: list[str] = Field(
        default_factory=list,
        description="CLI agents: more arguments, passed as they are.",
        json_schema_extra={**_kinds(*CLI_KINDS), "split": "shell"},
    )
    idle_timeout: Seconds = Field(
        600.0,
        description="CLI agents: seconds without output before a run is ended; 0: never.",
        json_schema_extra=_kinds(*CLI_KINDS),
    )
    read_timeout: Seconds = Field(
        120.0,
        description="builtin: seconds without data: a dropped stream.",
        json_schema_extra=_kinds(AgentKind.BUILTIN),
    )
    max_call_seconds: float = Field(
        1800.0,
        ge=1.0,
        le=86_400.0,
        description="builtin: seconds one model call may take in all, its retries included.",
        json_schema_extra=_kinds(AgentKind.BUILTIN),
    )
    sandbox: bool = Field(
        False,
        description="run the agent (and its tasks' setup and checks) in a sandbox "
        "(bubblewrap): its worktree writable, the system read-only, the home, other "
        "worktrees and the main checkout hidden.",
        json_schema_extra=_kinds(*_SANDBOXED),
    )
    network: SandboxNetwork = Field(
        SandboxNetwork.MODEL,
        description="sandboxed: model (the model's API and the hosts listed), none or full.",
        json_schema_extra=_kinds(*_SANDBOXED),
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="sandboxed, network model: more hosts it may reach (host, host:port, "
        "*.domain), e.g. a package index.",
        json_schema_extra=_kinds(*_SANDBOXED),
    )
    sandbox_paths: list[str] = Field(
        default_factory=list,
        description="sandboxed: more paths it sees, read-only; rw:PATH for writable.",
        json_schema_extra=_kinds(*_SANDBOXED),
    )
    sandbox_env: list[str] = Field(
        default_factory=list,
        description="sandboxed: variables it keeps though their names look like a "
        "secret's (…_TOKEN, …_PASSWORD, …_SECRET: withheld otherwise).",
        json_schema_extra=_kinds(*_SANDBOXED),
    )
    max_event_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="builtin and CLI agents: bytes one streamed event or output line may "
        "have; a larger one fails the run.",
        json_schema_extra=_kinds(AgentKind.BUILTIN, *CLI_KINDS),
    )

    def effective_base_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        return DEFAULT_BASE_URLS[self.provider] if self.provider else ""

    def effective_key_name(self) -> str:
        """The keyring entry of its key: the one it names; else the provider's, for the
        provider's own API; else the host of the server it talks to (an OpenRouter key
        is not the OpenAI key, and the OpenAI key is never sent to OpenRouter)."""
        if self.key_name or self.provider is None:
            return self.key_name
        host = urlparse(self.effective_base_url()).hostname or ""
        if host and host != urlparse(DEFAULT_BASE_URLS[self.provider]).hostname:
            return host
        return self.provider.value


def profile_fields(kind: AgentKind) -> list[str]:
    """The AgentProfile fields an agent of this kind uses, in declaration order (name and
    kind first): what a form for such a profile shows."""
    fields = []
    for name, info in AgentProfile.model_fields.items():
        extra = info.json_schema_extra
        kinds = extra.get("kinds", []) if isinstance(extra, dict) else []
        if isinstance(kinds, list) and kind.value in kinds:
            fields.append(name)
    return fields


class DiffStat(Model):
    files: int = 0
    insertions: int = 0
    deletions: int = 0


class FileChange(Model):
    """One file of a diff, from `git diff --numstat --name-status`."""

    path: str
    old_path: str | None = None
    status: str = Field(description="A added, M modified, D deleted, R renamed, C copied, T type.")
    insertions: int = 0
    deletions: int = 0
    binary: bool = False


class CheckResult(Model):
    status: CheckStatus = CheckStatus.NONE
    exit_code: int | None = None
    output_tail: str = ""
    tree: str = Field("", description="The git tree the checks ran on (its files, committed).")
    base: str = Field("", description="The base branch's commit when they ran.")
    commands: str = Field("", description="domain.checks.commands_key of what ran.")


class MergeRequest(Model):
    """An approve waiting for its turn or for the checks on its merge result: what was
    asked, so that it can be carried out, or undone when its process died."""

    strategy: MergeStrategy = MergeStrategy.SQUASH
    message: str = ""
    delete_branch: bool = False
    recheck: bool = Field(
        True, description="Run the checks on the merge result unless they passed on that tree."
    )
    previous_phase: Phase = Phase.READY
    queued_at: float = 0.0
    pid: int = Field(0, description="The process carrying the approve out.")
    landing: str = Field(
        "",
        description="The commit the base is about to move to (recorded just before it "
        "moves): recovery finishes an approve killed after that as merged.",
    )


class Run(Model):
    id: RowId = 0
    task_id: int
    number: RowId = Field(description="1, 2, … within its task; `task log --run N` names this.")
    kind: RunKind = RunKind.IMPLEMENT
    status: RunStatus = RunStatus.RUNNING
    exit_code: int | None = None
    reason: str = ""
    follow_up: str = ""
    pid: int | None = None
    started_at: float | None = None
    ended_at: float | None = None
    commit: str | None = None
    checks: CheckResult = Field(default_factory=CheckResult)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    context_fill: float = 0.0
    conversation: str = Field("", description="builtin: the saved conversation, JSON.")
    progress: str = Field(
        "", description="The agent's last word on where it stands (Seedbed's report_progress)."
    )


class Task(Model):
    id: RowId = 0
    project_id: int
    title: str
    prompt: str = ""
    state: TaskState = TaskState.PLANNED
    phase: Phase = Phase.DRAFT
    position: int = 0
    profile_id: int | None = None
    branch: str | None = None
    worktree: Path | None = None
    base_branch: str = ""
    workspace_ready: bool = False
    pending_kind: RunKind = RunKind.IMPLEMENT
    pending_message: str = ""
    control: Control = Control.NONE
    error: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    foreground: bool = Field(False, description="Watched: pinned to the foreground view.")
    plan_first: bool = Field(False, description="A planner writes a plan before any code.")
    plan: str = Field(
        "", description="The plan in Markdown: the agent follows it, the reviewer shows it."
    )
    fix_rounds_used: int = Field(
        0, description="Automatic fix rounds run since the developer last sent it back."
    )
    after: list[RowId] = Field(
        default_factory=list, description="Tasks that must be merged before this one starts."
    )
    budget_usd: Dollars = Field(0.0, description="Dollars its runs may spend; 0: no limit.")
    budget_tokens: Count = Field(0, description="Tokens its runs may use; 0: no limit.")
    time_limit_s: Seconds = Field(0.0, description="Seconds its runs may take in all; 0: none.")
    reviewer_profile_id: int | None = Field(
        None, description="A fresh run of this profile reviews the change once checks pass."
    )
    review_verdict: str = Field(
        "",
        description='The reviewer agent\'s last word: "approve", "request_changes", '
        '"none" (it gave no verdict) or "" (not reviewed).',
    )
    auto_merge: bool = Field(
        False, description="Merged without a human once its checks pass and the reviewer approves."
    )
    planner_profile_id: int | None = Field(
        None, description="Writes the plan (plan first); none: the task's own profile."
    )
    auto_approve_plan: bool = Field(
        False, description="Plan first, then straight on to the code (for background tasks)."
    )
    plan_approved: bool = Field(
        False, description="The plan was approved: a plan-first task may write code."
    )
    parent_id: int | None = Field(None, description="The task whose plan split into this one.")
    origin_id: int | None = Field(
        None, description="The task whose agent added this one (Seedbed's create_task)."
    )
    diff_files: int = Field(0, description="Files the branch changes, as of its last run.")
    diff_insertions: int = 0
    diff_deletions: int = 0
    reviewed_commit: str | None = Field(
        None,
        description="The branch tip the developer last sent back with changes requested: "
        '"since last review" diffs from here.',
    )
    merge_base_first: bool = Field(
        False,
        description="The next run first merges the base branch into the task's branch, "
        "for the agent to resolve the conflicts.",
    )
    merge_request: MergeRequest | None = Field(
        None, description="Set while an approve of this task is queued or being checked."
    )


class TaskChanges(TypedDict, total=False):
    """The fields of a Task that `Store.update_task` changes, as keywords: every Task field
    but its id, state and timestamps, with the same types (tests/domain/test_models.py
    keeps the two in step). The type checker then knows each keyword's name and type."""

    project_id: int
    title: str
    prompt: str
    phase: Phase
    position: int
    profile_id: int | None
    branch: str | None
    worktree: Path | None
    base_branch: str
    workspace_ready: bool
    pending_kind: RunKind
    pending_message: str
    control: Control
    error: str
    foreground: bool
    plan_first: bool
    plan: str
    fix_rounds_used: int
    after: list[int]
    budget_usd: float
    budget_tokens: int
    time_limit_s: float
    reviewer_profile_id: int | None
    review_verdict: str
    auto_merge: bool
    planner_profile_id: int | None
    auto_approve_plan: bool
    plan_approved: bool
    parent_id: int | None
    origin_id: int | None
    diff_files: int
    diff_insertions: int
    diff_deletions: int
    reviewed_commit: str | None
    merge_base_first: bool
    merge_request: MergeRequest | None


class Card(Model):
    """What the board shows of a task: the task and a summary of its runs."""

    task: Task
    profile_name: str = ""
    sandboxed: bool = Field(False, description="Its agent runs in a sandbox (its profile's).")
    runs: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    context_fill: float = Field(0.0, description="The latest run's highest context fill.")
    check_status: CheckStatus = CheckStatus.NONE
    run_started_at: float | None = Field(None, description="When the latest run started.")
    run_ended_at: float | None = None
    last_run_id: int | None = None
    check_base: str = Field("", description="The base's commit when the latest checks ran.")
    base_moved: int = Field(0, description="Commits the base gained since then.")
    run_status: RunStatus | None = Field(None, description="How the latest run ended (or not).")
    run_reason: str = Field("", description="Why the latest run ended as it did.")
    progress: str = Field("", description="The latest run's last progress line.")
    question: str = Field("", description="The question its agent waits on the user for.")
    earlier_runs_s: float = Field(
        0.0, description="Seconds its runs before the latest one took, together."
    )
    diff_budget: int = Field(0, description="The project's diff budget; 0: none.")
    waiting_for: list[int] = Field(
        default_factory=list, description="Tasks it waits for that are not merged yet."
    )
    waiting_gone: list[int] = Field(
        default_factory=list, description="Of those, the discarded ones: it waits forever."
    )


class Settings(Model):
    """The application's settings; the settings dialog is built from these fields."""

    max_parallel: int = Field(4, ge=1, le=32, description="Agents that run at the same time.")
    merge_strategy: MergeStrategy = Field(
        MergeStrategy.SQUASH, description="How Approve merges a task's branch."
    )
    merged_days: int = Field(7, ge=0, le=3650, description="Days a merged task stays on the board.")
    notify: bool = Field(True, description="A tray notification when a task needs you.")
    delete_branch_after_merge: bool = Field(
        True, description="Delete a task's branch once it is merged (off: keep them)."
    )
    mcp_may_approve: bool = Field(
        False,
        description="`seedbed mcp serve`: your own assistant may approve and merge tasks "
        "(off: it is told to ask you to approve them in Seedbed).",
    )
    editor_command: str = Field(
        "",
        description="Opens a worktree in your editor; {path} is replaced, e.g. `code {path}`.",
    )
    terminal_command: str = Field(
        "",
        description="Opens a terminal in a worktree; {path} is replaced, e.g. "
        "`x-terminal-emulator --working-directory={path}`.",
    )
    engine_idle_exit_minutes: int = Field(
        10,
        ge=0,
        le=1440,
        description="Minutes a background engine with no window and nothing to run waits "
        "before it exits (0: never).",
    )
    question_wait_s: int = Field(
        3600,
        ge=1,
        # At most a day: Claude Code ends an MCP tool call after 1e8 ms (27.8 h) itself.
        le=24 * 3600,
        description="Seconds an agent's question waits for your answer before the agent "
        "is told to decide itself.",
    )
    on_quit: OnQuit = Field(
        OnQuit.ASK,
        description="Closing the window while agents run: ask, keep them running in the "
        "background, or stop them.",
    )
