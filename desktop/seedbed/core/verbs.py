"""Every verb of the application layer, by the name it has in the engine's API.

A verb is a public function of core/ that the command line or the window calls, whose
first parameter is what it works on (its context) and whose others can cross a socket.
The engine serves exactly these (service/engine_process.py). Their names are written
once, in core/verb_names.py, which a client reads to name a verb (`verb_name(function)`)
without importing them all; here each name gets its function.

Every public function of core whose first parameter is a `Context` is here, or in
NOT_VERBS with the reason (tests/service/test_verbs.py holds both lists to that).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
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
    mcp_servers,
    merging,
    projects,
    questions,
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
from seedbed.core.verb_names import VERB_NAMES, WAITING, verb_name

# Each verb's module, by the name its verbs' names start with.
MODULES: dict[str, ModuleType] = {
    "agent_setup": agent_setup,
    "app_settings": app_settings,
    "changes": changes,
    "comments": comments,
    "dependencies": dependencies,
    "diffs": diffs,
    "keys": keys,
    "mcp_servers": mcp_servers,
    "merging": merging,
    "projects": projects,
    "questions": questions,
    "radar": radar,
    "reads": reads,
    "review": review,
    "review_data": review_data,
    "runs": runs,
    "setup": setup,
    "task_detail": task_detail,
    "tasks": tasks,
    "transcript": transcript,
}

VERBS: dict[str, Callable[..., Any]] = {
    name: getattr(MODULES[name.partition(".")[0]], name.partition(".")[2]) for name in VERB_NAMES
}

# Functions of core that take a Context but are not served, and why.
NOT_VERBS: dict[Callable[..., Any], str] = {
    data_dir.owning: "holds the engine lock in the caller's own process",
    data_dir.settings: "the CLI's own read of settings.json; clients call read_settings",
    review_data.load_outline: "takes a callback (the window reads the outline then the files)",
}

__all__ = ["NOT_VERBS", "VERBS", "WAITING", "verb_name"]
