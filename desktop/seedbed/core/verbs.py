"""Every verb of the application layer, by the name it has in the engine's API.

A verb is a public function of core/ that the command line or the window calls, whose
first parameter is what it works on (its context) and whose others can cross a socket.
The engine serves exactly these (service/engine_process.py); a client names a verb by
`verb_name(function)`, so a name is written once, here.

Not here, and why: `setup.add_project`, `setup.add_profile`, `setup.update_profile` take
`**settings` (a verb's parameters must be named and typed to be sent);
`review_data.load_outline` takes a callback; `review_data.load_file`, `prefilled_message`,
`comments.comment_location` and `tasks.check_task_options` are pure helpers a client runs
itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seedbed.core import (
    changes,
    comments,
    dependencies,
    diffs,
    merging,
    projects,
    radar,
    review,
    review_data,
    runs,
    setup,
    task_detail,
    tasks,
)

VERBS: dict[str, Callable[..., Any]] = {
    # tasks
    "tasks.add_task": tasks.add_task,
    "tasks.edit_task": tasks.edit_task,
    "tasks.start_task": tasks.start_task,
    "tasks.control_task": tasks.control_task,
    "tasks.move_before": tasks.move_before,
    "tasks.set_foreground": tasks.set_foreground,
    "tasks.set_budget": tasks.set_budget,
    "tasks.set_plan": tasks.set_plan,
    "tasks.approve_plan": tasks.approve_plan,
    "tasks.request_plan_changes": tasks.request_plan_changes,
    "dependencies.set_dependencies": dependencies.set_dependencies,
    # review and merging
    "review.discard": review.discard,
    "review.fix_merge_checks": review.fix_merge_checks,
    "review.resolve_conflict": review.resolve_conflict,
    "merging.approve": merging.approve,
    "runs.finish_if_landed": runs.finish_if_landed,
    # comments
    "comments.add_comment": comments.add_comment,
    "comments.edit_comment": comments.edit_comment,
    "comments.delete_comment": comments.delete_comment,
    "comments.request_changes_with_comments": comments.request_changes_with_comments,
    "comments.diff_since_review": comments.diff_since_review,
    # projects and profiles
    "setup.update_project_settings": setup.update_project_settings,
    "setup.set_project_defaults": setup.set_project_defaults,
    "projects.remove_project": projects.remove_project,
    # reads
    "merging.board_cards": merging.board_cards,
    "radar.overlapping_tasks": radar.overlapping_tasks,
    "task_detail.task_detail": task_detail.task_detail,
    "review_data.load_review": review_data.load_review,
    "review_data.load_comments": review_data.load_comments,
    "diffs.diff_text": diffs.diff_text,
    "changes.diff_files": changes.diff_files,
}

_NAMES: dict[Callable[..., Any], str] = {function: name for name, function in VERBS.items()}


def verb_name(function: Callable[..., Any]) -> str:
    """The API name of the verb `function`. Raises KeyError, naming it, for a function
    that is not a verb of core."""
    try:
        return _NAMES[function]
    except KeyError:
        qualified = f"{getattr(function, '__module__', '?')}.{function.__qualname__}"
        raise KeyError(f"{qualified} is not a verb of core (see seedbed/core/verbs.py)") from None
