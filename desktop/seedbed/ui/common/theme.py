"""Colours derived from the palette, so light and dark themes both stay legible."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette

from seedbed.domain.models import Phase, Task, TaskState


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def tone(palette: QPalette, light: str, dark: str) -> QColor:
    """One of two hand-picked colours: the one that reads on this palette."""
    return QColor(dark if is_dark(palette) else light)


def mix(a: QColor, b: QColor, amount: float) -> QColor:
    """a moved `amount` (0…1) towards b."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * amount),
        round(a.green() + (b.green() - a.green()) * amount),
        round(a.blue() + (b.blue() - a.blue()) * amount),
    )


def danger(palette: QPalette) -> QColor:
    return tone(palette, "#c62828", "#ef6b6b")


def warning(palette: QPalette) -> QColor:
    return tone(palette, "#b26a00", "#f0b24a")


def success(palette: QPalette) -> QColor:
    return tone(palette, "#2e7d32", "#6cc070")


def muted(palette: QPalette) -> QColor:
    return palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)


def accent(palette: QPalette) -> QColor:
    return palette.color(QPalette.ColorRole.Highlight)


PHASE_LABELS: dict[Phase, str] = {
    Phase.DRAFT: "planned",
    Phase.QUEUED: "queued",
    Phase.PREPARING: "preparing",
    Phase.PLANNING: "planning",
    Phase.IMPLEMENTING: "implementing",
    Phase.CHECKING: "checking",
    Phase.REVIEWING: "reviewing",
    Phase.READY: "ready",
    Phase.PLAN_READY: "plan ready",
    Phase.CHECKS_FAILED: "checks failed",
    Phase.AGENT_FAILED: "agent failed",
    Phase.CONFLICT: "conflict",
    Phase.INTERRUPTED: "interrupted",
    Phase.NEEDS_INPUT: "needs input",
    Phase.MERGING: "merging",
    Phase.MERGE_CHECKS_FAILED: "merge checks failed",
    Phase.NONE: "merged",
}


def phase_label(task: Task) -> str:
    """What a badge says: the phase, or "merged" / "discarded" for those columns."""
    if task.state in (TaskState.MERGED, TaskState.DISCARDED):
        return task.state.value
    return PHASE_LABELS.get(task.phase, task.phase.value)


def phase_color(palette: QPalette, phase: Phase) -> QColor:
    """The badge colour of a phase: red for what failed, amber for what waits on a
    decision, green for ready, the accent for work in progress, grey otherwise."""
    if phase in (
        Phase.CHECKS_FAILED,
        Phase.AGENT_FAILED,
        Phase.CONFLICT,
        Phase.MERGE_CHECKS_FAILED,
    ):
        return danger(palette)
    if phase in (Phase.INTERRUPTED, Phase.PLAN_READY, Phase.QUEUED, Phase.NEEDS_INPUT):
        return warning(palette)
    if phase in (Phase.READY, Phase.NONE):
        return success(palette)
    if phase is Phase.DRAFT:
        return muted(palette)
    return accent(palette)


def fill_color(palette: QPalette, fill: float) -> QColor:
    """Context fill: normal below 60 %, amber from 60 %, red from 85 %."""
    if fill >= 0.85:
        return danger(palette)
    if fill >= 0.60:
        return warning(palette)
    return success(palette)
