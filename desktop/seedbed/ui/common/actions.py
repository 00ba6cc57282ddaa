"""Every action and shortcut of the window, declared in one table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class ActionSpec:
    text: str
    shortcut: str = ""
    tip: str = ""


ACTIONS: dict[str, ActionSpec] = {
    "new_task": ActionSpec("&New task…", "Ctrl+N", "Add a task to Planned"),
    "edit_task": ActionSpec("&Edit task…", "F2", "Change a planned task"),
    "start_task": ActionSpec("&Start", "Ctrl+Return", "Queue the task to run (Planned → Running)"),
    "move_left": ActionSpec(
        "Move to the column on the &left", "Ctrl+Left", "Running → Planned, Review → Running"
    ),
    "move_right": ActionSpec(
        "Move to the column on the &right", "Ctrl+Right", "Planned → Running, Review → Merged"
    ),
    "move_up": ActionSpec("Move &up in the queue", "Alt+Up", "Run this planned task sooner"),
    "move_down": ActionSpec("Move &down in the queue", "Alt+Down", "Run this planned task later"),
    "stop_task": ActionSpec("S&top", "Ctrl+.", "Stop the agent: the task waits for review"),
    "requeue_task": ActionSpec(
        "Stop and re&queue", "Ctrl+Shift+.", "Stop the agent and put the task back in Planned"
    ),
    "resume_task": ActionSpec("&Resume", "Ctrl+Shift+R", "Send the task back to its agent"),
    "approve_task": ActionSpec("&Approve and merge…", "Ctrl+Shift+M", "Merge into the base"),
    "discard_task": ActionSpec("&Discard…", "Delete", "Archive the task (its branch is kept)"),
    "pin_task": ActionSpec("&Pin to foreground", "P", "Watch this task's live log"),
    "next_needs_you": ActionSpec("Next task that &needs you", "Ctrl+J", "Oldest first"),
    "show_board": ActionSpec("&Board", "Ctrl+1", "The board and the selected task's log"),
    "show_foreground": ActionSpec("&Foreground", "Ctrl+2", "Pinned tasks' live logs, tiled"),
    "add_project": ActionSpec("Add &project…", "Ctrl+O", "Add a git repository"),
    "settings": ActionSpec("Se&ttings…", "Ctrl+,", "Profiles, keys, projects, limits"),
    "find_in_log": ActionSpec("&Find in the log…", "Ctrl+F", "Search the run's events"),
    "save_task": ActionSpec("Save the task", "Ctrl+Return", "In the task dialog: OK"),
    "next_hunk": ActionSpec("Next &hunk", "N", "Reviewer: the next hunk (then the next file)"),
    "previous_hunk": ActionSpec("&Previous hunk", "P", "Reviewer: the previous hunk"),
    "next_file": ActionSpec("Next &file", "J", "Reviewer: the next file"),
    "previous_file": ActionSpec("Previous fi&le", "K", "Reviewer: the previous file"),
    "comment_lines": ActionSpec("&Comment…", "C", "Reviewer: comment on the selected lines"),
    "toggle_viewed": ActionSpec("Mark &viewed", "V", "Reviewer: tick the file as viewed, or not"),
    "toggle_split": ActionSpec(
        "&Side by side", "S", "Reviewer: old and new side by side, or one unified diff"
    ),
    "refresh": ActionSpec("&Reload", "F5", "Read the board again from the store"),
    "quit": ActionSpec("&Quit", "Ctrl+Q", "Close Seedbed (running agents are stopped)"),
}


def add_action(widget: QWidget, name: str, slot: Callable[[], object]) -> QAction:
    """The action `name` of the table, added to `widget` (so its shortcut works there)."""
    spec = ACTIONS[name]
    action = QAction(spec.text, widget)
    action.setObjectName(name)
    if spec.shortcut:
        action.setShortcut(QKeySequence(spec.shortcut))
    tip = spec.tip + (f" ({spec.shortcut})" if spec.shortcut else "")
    action.setToolTip(tip)
    action.setStatusTip(spec.tip)
    action.triggered.connect(slot)
    widget.addAction(action)
    return action


# Keys that widgets handle themselves, listed here so the table is the whole story:
# Enter on a log row shows or hides its detail; Ctrl+C copies the selected log rows;
# in the find bar Enter / Shift+Enter go to the next / previous match and Esc closes it.
WIDGET_KEYS: dict[str, str] = {
    "Return": "log: show or hide the selected event in full",
    "Ctrl+C": "log: copy the selected rows",
    "Shift+Return": "find bar: previous match",
    "Esc": "find bar: close",
}
