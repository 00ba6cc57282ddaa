"""Every verb of the application layer, by the name it has in the engine's API.

A verb is a public function of core/ that the command line or the window calls, whose
first parameter is what it works on (its context) and whose others can cross a socket.
The engine serves exactly these (service/engine_process.py); a client names a verb by
`verb_name(function)`, so a name is written once, here.

Every public function of core whose first parameter is a `Context` is here, or in
NOT_VERBS with the reason (tests/service/test_verbs.py holds both lists to that).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seedbed.core import (
    agent_setup,
    app_settings,
    changes,
    comments,
    data_dir,
    dependencies,
    diffs,
    keys,
    merging,
    projects,
    radar,
    reads,
    review,
    review_data,
    runs,
    setup,
    task_detail,
    tasks,
    transcript,
)

VERBS: dict[str, Callable[..., Any]] = {
    # tasks
    "tasks.create_task": tasks.create_task,
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
    "setup.add_project": setup.add_project,
    "setup.add_profile": setup.add_profile,
    "setup.update_profile": setup.update_profile,
    "setup.update_project_settings": setup.update_project_settings,
    "setup.set_project_defaults": setup.set_project_defaults,
    "projects.remove_project": projects.remove_project,
    "projects.add_repository": projects.add_repository,
    "setup.remove_profile": setup.remove_profile,
    "agent_setup.agent_problems": agent_setup.agent_problems,
    "agent_setup.create_agent": agent_setup.create_agent,
    "agent_setup.add_local_profile": agent_setup.add_local_profile,
    # what the engine's machine has: its keyring, its agent CLIs, its model servers
    "keys.keyring_state": keys.keyring_state,
    "keys.store_key": keys.store_key,
    "keys.forget_key": keys.forget_key,
    "agent_setup.cli_versions": agent_setup.cli_versions,
    "agent_setup.local_servers": agent_setup.local_servers,
    "app_settings.read_settings": app_settings.read_settings,
    "app_settings.save_settings": app_settings.save_settings,
    "app_settings.window_start": app_settings.window_start,
    # reads
    "reads.list_projects": reads.list_projects,
    "reads.find_project": reads.find_project,
    "reads.get_project": reads.get_project,
    "reads.list_profiles": reads.list_profiles,
    "reads.find_profile": reads.find_profile,
    "reads.list_tasks": reads.list_tasks,
    "reads.get_task": reads.get_task,
    "reads.list_runs": reads.list_runs,
    "reads.read_events": reads.read_events,
    "changes.changed_files": changes.changed_files,
    "comments.list_comments": comments.list_comments,
    "review_data.read_new_lines": review_data.read_new_lines,
    "transcript.log_row_count": transcript.log_row_count,
    "transcript.log_rows": transcript.log_rows,
    "transcript.tool_results_after": transcript.tool_results_after,
    "transcript.search_log": transcript.search_log,
    "transcript.pending_text": transcript.pending_text,
    "merging.board_cards": merging.board_cards,
    "radar.overlapping_tasks": radar.overlapping_tasks,
    "task_detail.task_detail": task_detail.task_detail,
    "review_data.load_review": review_data.load_review,
    "review_data.load_outline_in_tree_order": review_data.load_outline_in_tree_order,
    "review_data.load_first_in_tree_order": review_data.load_first_in_tree_order,
    "review_data.load_comments": review_data.load_comments,
    "review_data.load_file": review_data.load_file,
    "review_data.read_blob": review_data.read_blob,
    "diffs.diff_text": diffs.diff_text,
}

# Verbs that may wait long without working: an approve waits its turn in the merge
# queue. The engine runs them in a pool of their own, so reads never wait behind them.
WAITING: frozenset[str] = frozenset({"merging.approve"})

# Functions of core that take a Context but are not served, and why.
NOT_VERBS: dict[Callable[..., Any], str] = {
    data_dir.owning: "holds the engine lock in the caller's own process",
    data_dir.settings: "the CLI's own read of settings.json; clients call read_settings",
    review_data.load_outline: "takes a callback (the window reads the outline then the files)",
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
