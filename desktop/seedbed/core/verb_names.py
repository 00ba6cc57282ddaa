"""Every verb of the application layer by the name it has in the engine's API, without
importing a verb: `tasks.create_task` is the function create_task of seedbed/core/tasks.py.
A client tells a verb, and names it, by its module and name (`verb_name`): the window's
start needs no more of core than it calls. core/verbs.py gives each name its function
(the engine serves those); tests/service/test_verbs.py holds the two to each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CORE = "seedbed.core."

VERB_NAMES: tuple[str, ...] = (
    # tasks
    "tasks.create_task",
    "tasks.edit_task",
    "tasks.start_task",
    "tasks.control_task",
    "tasks.move_before",
    "tasks.set_foreground",
    "tasks.set_budget",
    "tasks.set_plan",
    "tasks.approve_plan",
    "tasks.request_plan_changes",
    "dependencies.set_dependencies",
    "questions.answer_question",
    # review and merging
    "review.discard",
    "review.fix_merge_checks",
    "review.resolve_conflict",
    "merging.approve",
    "runs.finish_if_landed",
    # comments
    "comments.add_comment",
    "comments.edit_comment",
    "comments.delete_comment",
    "comments.request_changes_with_comments",
    "comments.diff_since_review",
    # projects and profiles
    "setup.add_project",
    "setup.add_profile",
    "setup.update_profile",
    "setup.update_project_settings",
    "setup.set_project_defaults",
    "projects.remove_project",
    "projects.add_repository",
    "setup.remove_profile",
    "agent_setup.agent_problems",
    "agent_setup.create_agent",
    "agent_setup.add_local_profile",
    "mcp_servers.add_mcp_server",
    "mcp_servers.update_mcp_server",
    "mcp_servers.remove_mcp_server",
    # what the engine's machine has: its keyring, its agent CLIs, its model servers
    "keys.keyring_state",
    "keys.store_key",
    "keys.forget_key",
    "agent_setup.cli_versions",
    "agent_setup.local_servers",
    "app_settings.read_settings",
    "app_settings.save_settings",
    "app_settings.window_start",
    # reads
    "reads.list_projects",
    "reads.find_project",
    "reads.get_project",
    "reads.list_profiles",
    "reads.find_profile",
    "mcp_servers.list_mcp_servers",
    "mcp_servers.find_mcp_server",
    "reads.list_tasks",
    "reads.get_task",
    "reads.list_runs",
    "reads.read_events",
    "changes.changed_files",
    "comments.list_comments",
    "questions.waiting_question",
    "review_data.read_new_lines",
    "transcript.log_row_count",
    "transcript.log_rows",
    "transcript.tool_results_after",
    "transcript.search_log",
    "transcript.pending_text",
    "merging.board_cards",
    "radar.overlapping_tasks",
    "task_detail.task_detail",
    "review_data.load_review",
    "review_data.load_outline_in_tree_order",
    "review_data.load_first_in_tree_order",
    "review_data.load_comments",
    "review_data.load_file",
    "review_data.read_blob",
    "diffs.diff_text",
)

# Verbs that may wait long without working: an approve waits its turn in the merge
# queue. The engine runs them in a pool of their own, so reads never wait behind them.
WAITING: frozenset[str] = frozenset({"merging.approve"})

_KNOWN = frozenset(VERB_NAMES)


def is_verb(function: Callable[..., Any]) -> bool:
    return _name(function) is not None


def verb_name(function: Callable[..., Any]) -> str:
    """The API name of the verb `function`. Raises KeyError, naming it, for a function
    that is not a verb of core."""
    name = _name(function)
    if name is None:
        module = getattr(function, "__module__", None) or "?"
        qualified = f"{module}.{getattr(function, '__qualname__', repr(function))}"
        raise KeyError(f"{qualified} is not a verb of core (see seedbed/core/verb_names.py)")
    return name


def _name(function: Callable[..., Any]) -> str | None:
    module = getattr(function, "__module__", None) or ""
    if not module.startswith(CORE):
        return None
    name = f"{module.removeprefix(CORE)}.{getattr(function, '__qualname__', '')}"
    return name if name in _KNOWN else None
