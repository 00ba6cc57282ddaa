"""How the command line prints things."""

from __future__ import annotations

import json
from typing import Any

from seedbed.domain.models import (
    AgentKind,
    AgentProfile,
    Phase,
    Run,
    TaskState,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def question_lines(question: dict[str, Any]) -> str:
    """The question a task's agent waits on, as `task show` prints it."""
    text = "\n    ".join(question["text"].splitlines())
    lines = f"  asks ({question['kind']}): {text}\n"
    if question["options"]:
        lines += "    options: " + " / ".join(question["options"]) + "\n"
    return lines + f"    answer: seedbed task answer {question['task_id']} TEXT\n"


def usage_line(runs: list[dict[str, Any]]) -> str:
    """Tokens, cost and the fullest context over a task's runs, when a model was used."""
    tokens_in = sum(r["tokens_in"] for r in runs)
    tokens_out = sum(r["tokens_out"] for r in runs)
    if not tokens_in and not tokens_out:
        return ""
    cost = sum(r["cost_usd"] for r in runs)
    fill = max(r["context_fill"] for r in runs)
    return f"  tokens {tokens_in} in, {tokens_out} out, ${cost:.4f}, context up to {fill:.0%}\n"


def shown(value: object) -> str:
    """A value as human output says it: never Python's `None` or `True`, never an empty
    gap."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"  # 600, not 600.0
    return "-" if value is None or value == "" else str(value)


def describe(profile: AgentProfile) -> str:
    if profile.kind is AgentKind.BUILTIN and profile.provider is not None:
        return f"{profile.provider.value} {profile.model} {profile.effective_base_url()}"
    if profile.kind is AgentKind.COMMAND:
        return profile.command
    parts = [profile.binary or "(on PATH)", f"model {profile.model or '(its default)'}"]
    if profile.base_url:
        parts.append(profile.base_url)
    return " ".join(parts)


# How `seedbed run` sums up the tasks it ran, in this order; other phases by their name.
OUTCOMES = {
    Phase.READY: "ready",
    Phase.PLAN_READY: "plan ready",
    Phase.CHECKS_FAILED: "checks failed",
    Phase.AGENT_FAILED: "failed",
    Phase.CONFLICT: "conflict",
    Phase.INTERRUPTED: "interrupted",
}


def outcome(state: TaskState, phase: Phase) -> str:
    """A task's outcome in a word or two: `ready`, `failed`, `merged`, `requeued` …"""
    if state is TaskState.AWAITING_REVIEW:
        return OUTCOMES.get(phase, phase.value.replace("_", " "))
    if state is TaskState.PLANNED:
        return "requeued"
    if state is TaskState.RUNNING:
        return "still running"
    return state.value


def run_summary(ended: str, outcomes: list[str]) -> str:
    """`idle: 3 ready, 1 failed, 1 interrupted`: the tasks a run of the engine ran."""
    order = [*OUTCOMES.values(), "merged"]
    counts = {word: outcomes.count(word) for word in dict.fromkeys(order + outcomes)}
    said = [f"{count} {word}" for word, count in counts.items() if count]
    return f"{ended}: {', '.join(said) if said else 'no tasks ran'}"


def format_event(run: Run, seq: int, data: str, as_json: bool) -> str:
    """One stored event as a line of `task log` (or of `task log --jsonl`: its JSON, with
    run and seq)."""
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
