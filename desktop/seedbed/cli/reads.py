"""The commands that only read the store (lists and settings): the base of every
invocation, kept light so `seedbed task list` starts fast. They import neither the
engine, git nor the keyring; `commands.Cli` adds the commands that need those."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from seedbed.cli.gateway import Gateway
from seedbed.cli.parser import PROJECT_ROLES, PROJECT_SETTINGS
from seedbed.cli.text import EXIT_OK, describe, shown
from seedbed.core import reads
from seedbed.core.context import Context
from seedbed.core.mcp_servers import list_mcp_servers
from seedbed.domain.errors import OperationError
from seedbed.domain.models import TaskState, profile_fields
from seedbed.paths import resolve_data_dir


class Reads:
    """One invocation: the parsed arguments, the gateway its verbs go through, and where
    output goes; and the commands that only read the store."""

    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        self.args = args
        self.out = out
        self.data_dir = resolve_data_dir(args.data_dir)
        # Every verb goes through it: to the engine when one runs (cli/gateway.py).
        self.gateway = Gateway(self.data_dir, getattr(args, "engine_socket", None))
        self.call = self.gateway.call

    @property
    def ctx(self) -> Context:
        """The data dir opened in this process, for what never goes through an engine."""
        return self.gateway.context

    def emit(self, data: Any, text: str) -> None:
        if self.args.json:
            # allow_nan=False: Infinity or NaN is not JSON; a value that slipped past
            # the models' bounds is an error here, never a document no parser reads.
            try:
                text = json.dumps(data, indent=2, default=str, allow_nan=False)
            except ValueError:
                raise OperationError(
                    "internal error: the output holds a number JSON cannot write (inf or NaN)"
                ) from None
            self.out.write(text + "\n")
        elif text:
            self.out.write(text + ("" if text.endswith("\n") else "\n"))

    def project_list(self) -> int:
        projects = self.call(reads.list_projects)
        rows = [f"{p.id:>4}  {p.name:<20} {p.base_branch:<12} {p.path}" for p in projects]
        self.emit([p.model_dump(mode="json") for p in projects], "\n".join(rows) or "no projects")
        return EXIT_OK

    def project_show(self) -> int:
        project = self.call(reads.find_project, self.args.project)
        names = {p.id: p.name for p in self.call(reads.list_profiles)}
        values = project.model_dump(mode="json")
        rows = [f"#{project.id} {project.name}", f"  path: {project.path}"]
        for field in PROJECT_SETTINGS:
            value = values[field]
            if field in PROJECT_ROLES:
                value = names.get(value, "none") if value is not None else "none"
            elif isinstance(value, list):
                value = ", ".join(value) or "none"
            label = field.removesuffix("_profile_id").replace("_", " ")
            rows.append(f"  {label}: {shown(value)}")
        self.emit(values, "\n".join(rows))
        return EXIT_OK

    def profile_show(self) -> int:
        profile = self.call(reads.find_profile, self.args.name)
        values = profile.model_dump(mode="json")
        rows = [f"#{profile.id} {profile.name} ({profile.kind.value})"]
        for field in profile_fields(profile.kind)[2:]:  # after its name and kind
            value = values[field]
            rows.append(
                f"  {field.replace('_', ' ')}: "
                + (" ".join(value) or "none" if isinstance(value, list) else shown(value))
            )
        self.emit(values, "\n".join(rows))
        return EXIT_OK

    def profile_list(self) -> int:
        profiles = self.call(reads.list_profiles)
        rows = [f"{p.id:>4}  {p.name:<20} {p.kind.value:<10} {describe(p)}" for p in profiles]
        self.emit([p.model_dump(mode="json") for p in profiles], "\n".join(rows) or "no profiles")
        return EXIT_OK

    def task_list(self) -> int:
        a = self.args
        tasks = self.call(reads.list_tasks, a.project, TaskState(a.state) if a.state else None)
        rows = [
            f"{t.id:>4}  {t.state.value:<16} {shown(t.phase.value):<19} "
            f"{t.title.splitlines()[0][:60]}"
            for t in tasks
        ]
        self.emit([t.model_dump(mode="json") for t in tasks], "\n".join(rows) or "no tasks")
        return EXIT_OK

    def mcp_list(self) -> int:
        servers = self.call(list_mcp_servers)
        projects = {p.id: p.name for p in self.call(reads.list_projects)}
        profiles = {p.id: p.name for p in self.call(reads.list_profiles)}
        rows = []
        for server in servers:
            where = "every project" if server.project_id is None else "project "
            if server.project_id is not None:
                where += projects.get(server.project_id, f"#{server.project_id}")
            who = ", ".join(profiles.get(i, f"#{i}") for i in server.profile_ids)
            off = "" if server.enabled else "  (disabled)"
            rows.append(
                f"{server.name:<20} {server.summary()}\n"
                f"{'':<20} {where}; {who or 'every profile'}{off}"
            )
        self.emit([s.public() for s in servers], "\n".join(rows) or "no MCP servers")
        return EXIT_OK


# The `seedbed NOUN VERB` handlers of Reads, which need no engine.
READ_COMMANDS = frozenset(
    {"project_list", "project_show", "profile_list", "profile_show", "task_list", "mcp_list"}
)
# The commands that change nothing in the data dir (keys live in the keyring): they work
# on a read-only one, where every other command is refused before it starts (an approve
# must not merge and then find that it cannot record it).
READ_ONLY_COMMANDS = READ_COMMANDS | {
    "task_show",
    "task_log",
    "task_diff",
    "comment_list",
    "key_set",
    "key_list",
    "key_delete",
    "agents_doctor",
}
