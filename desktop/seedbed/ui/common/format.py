"""How numbers read on a card: pure functions, no Qt."""

from __future__ import annotations

from seedbed.domain.models import Card, CheckStatus, Phase, RunStatus, Task, TaskState


def elapsed(seconds: float) -> str:
    """3s, 4m 05s, 2h 07m, 3d 4h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def tokens(count: int) -> str:
    """950, 12.3k, 4.1M tokens."""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k".replace(".0k", "k")
    return f"{count / 1_000_000:.1f}M".replace(".0M", "M")


def cost(usd: float) -> str:
    if usd <= 0:
        return ""
    return f"${usd:.2f}" if usd >= 0.1 else f"${usd:.3f}"


def card_elapsed(card: Card, now: float) -> str:
    """The time all of the task's runs took: the earlier ones, and the latest one so far
    while it runs (until it ended, once it has); a planned card that never ran: nothing."""
    start = card.run_started_at
    if start is None:
        return ""
    end = card.run_ended_at
    if end is None:
        end = now if card.task.state is TaskState.RUNNING else card.task.updated_at
    return elapsed(card.earlier_runs_s + max(0.0, end - start))


MINUS = "\u2212"


def diff_parts(card: Card) -> tuple[str, str, str]:
    """("+12", MINUS + "3", "· 2 files"), or empty strings when the branch changes nothing."""
    task = card.task
    if not (task.diff_files or task.diff_insertions or task.diff_deletions):
        return "", "", ""
    files = "file" if task.diff_files == 1 else "files"
    return (
        f"+{task.diff_insertions}",
        f"{MINUS}{task.diff_deletions}",
        f"· {task.diff_files} {files}",
    )


REVIEW_WORDS = {
    "approve": " · reviewer ✓",
    "request_changes": " · reviewer ✗",
    "none": " · no verdict",
}


def check_label(card: Card) -> str:
    """The checks' result, and the automatic fix rounds it took."""
    rounds = card.task.fix_rounds_used
    fixes = f" · {rounds} fix round{'s' if rounds != 1 else ''}" if rounds else ""
    fixes += REVIEW_WORDS.get(card.task.review_verdict, "")
    if card.base_moved:
        fixes += f" · base +{card.base_moved}"
    if card.check_status is CheckStatus.PASSED:
        return f"✓ checks{fixes}"
    if card.check_status is CheckStatus.FAILED:
        return f"✗ checks{fixes}"
    return fixes.removeprefix(" · ")


def waiting_label(card: Card) -> str:
    """A queued task waiting for others' merges: "after #12, #15"."""
    if not card.waiting_for or card.task.state.value in ("merged", "discarded"):
        return ""
    gone = set(card.waiting_gone)
    return "after " + ", ".join(
        f"#{n} (discarded)" if n in gone else f"#{n}" for n in card.waiting_for
    )


def usage_line(card: Card) -> str:
    total = card.tokens_in + card.tokens_out
    if not total and card.cost_usd <= 0:
        return ""
    parts = [f"{tokens(total)} tok"]
    if card.cost_usd > 0:
        parts.append(cost(card.cost_usd))
    return " · ".join(parts)


def diff_lines(card: Card) -> int:
    """Lines the branch changes (insertions and deletions): what the diff budget counts."""
    return card.task.diff_insertions + card.task.diff_deletions


def over_budget(card: Card) -> bool:
    """Whether the card's diff is past its project's budget (never with no budget, 0)."""
    return card.diff_budget > 0 and diff_lines(card) > card.diff_budget


OVER_BUDGET = "over budget"
WARNING_SIGN = "\u26a0"


def overlap_badge(overlaps: list[tuple[int, list[str]]], limit: int = 3) -> str:
    """ "⚠ #12 #15" for the other tasks that change the same files; empty for none."""
    if not overlaps:
        return ""
    ids = " ".join(f"#{task_id}" for task_id, _files in overlaps[:limit])
    more = f" +{len(overlaps) - limit}" if len(overlaps) > limit else ""
    return f"{WARNING_SIGN} {ids}{more}"


def overlap_note(overlaps: list[tuple[int, list[str]]], limit: int = 5) -> str:
    """One line per other task: "Also changed by #12: a.py, b.py"."""
    lines = []
    for task_id, files in overlaps:
        shown = ", ".join(files[:limit]) + (
            f" and {len(files) - limit} more" if len(files) > limit else ""
        )
        lines.append(f"Also changed by #{task_id}: {shown}")
    return "\n".join(lines)


# The words of the reasons a run ended early, as the engine writes them (budgets.py,
# recovery.py, engine.py's shutdown, the built-in agent's loop.py), first match wins.
REASON_WORDS = (
    ("time limit reached", "time limit"),
    ("budget reached", "budget"),
    ("token budget of", "budget"),  # its profile's tokens per run
    ("token_budget", "budget"),  # the same, as earlier runs said it
    ("max_turns", "max turns"),
    ("the engine stopped", "engine stopped"),
    ("context_full", "context full"),
    # Issue 15's faults (runner, worktree_guard, shared_config, vcs/runner): the card
    # says which, the log pane's header the whole sentence.
    ("disk full", "disk full"),
    ("is not this task's", "branch taken"),
    ("did not finish within", "git hung"),
    ("contains the API key", "key in change"),
    ("shared git configuration", "git config changed"),
    ("no longer a git worktree", "worktree broken"),
    ("switched the worktree", "branch switched"),
    ("git repository of its own", "nested repository"),
    ("ended without a result", "no result"),
    ("took longer than", "model timeout"),
    ("larger than", "answer too large"),
    ("preparing failed", "setup failed"),
    ("merging failed", "merge failed"),
)
STATUS_WORDS = {
    RunStatus.TIMED_OUT: "time limit",
    RunStatus.INTERRUPTED: "engine stopped",
    RunStatus.STOPPED: "stopped",
    RunStatus.FAILED: "agent failed",
}


def reason_word(task: Task, status: RunStatus | None, reason: str) -> str:
    """Why an interrupted or failed task stopped, in a word or two, from its last run:
    "budget", "time limit", "stopped", "engine stopped", "agent failed"; "" for any
    other task, or a run that says nothing more than its phase does."""
    if task.phase not in (Phase.INTERRUPTED, Phase.AGENT_FAILED) or status is None:
        return ""
    for text, word in REASON_WORDS:
        if text in reason:
            return word
    return STATUS_WORDS.get(status, "")


NO_CHANGES = "no changes"


def changed_nothing(task: Task) -> bool:
    """A ready task whose branch changes nothing against its base: its run left no diff."""
    return task.phase is Phase.READY and not (
        task.diff_files or task.diff_insertions or task.diff_deletions
    )


def badge_label(card: Card, phase_label: str) -> str:
    """What the card's badge says: whom a queued task waits for, "no changes" for a run
    that changed nothing, else its phase and, for one that stopped early, why."""
    waiting = waiting_label(card)
    if waiting:
        return waiting
    if changed_nothing(card.task):
        return NO_CHANGES
    word = reason_word(card.task, card.run_status, card.run_reason)
    return f"{phase_label} · {word}" if word and word != phase_label else phase_label


def running_header(label: str, phases: list[Phase]) -> str:
    """The Running column's header: the tasks at work, and apart, the queued ones, that
    wait for a slot or for others' merges ("Running  3 · 6 queued")."""
    queued = sum(1 for phase in phases if phase is Phase.QUEUED)
    text = f"{label}  {len(phases) - queued}"
    return f"{text} · {queued} queued" if queued else text
