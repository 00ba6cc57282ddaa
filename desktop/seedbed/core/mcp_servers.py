"""The user's MCP servers (Settings → MCP servers, `seedbed mcp …`): saved, listed,
changed and removed, and the ones a run is given.

Variables and headers given as values are kept in the database (as a command line
would be); a token is better given as a keyring key's name (`env_keys`, `header_keys`),
read only when a run starts (`launches_for_run`). Blocking (the store, the keyring)."""

from __future__ import annotations

from pydantic import BaseModel

from seedbed import secrets
from seedbed.core.checking import InvalidField, checked
from seedbed.core.context import Changed, Context, Done
from seedbed.domain.errors import UserError
from seedbed.domain.mcp_servers import McpLaunch, SavedMcpServer, servers_for_run
from seedbed.store import Store

# What a change of a server moves: a setting (the window's MCP page follows settings).
SERVERS = Changed(settings=True)


def check_mcp_server(store: Store, server: SavedMcpServer) -> SavedMcpServer:
    """`server` checked for the user, beyond what the model checks: its keys' names,
    and that its project and profiles exist."""
    server = checked(SavedMcpServer, server.model_dump(), "MCP server")
    for key_name in (*server.env_keys.values(), *server.header_keys.values()):
        secrets.validate_name(key_name)
    if server.project_id is not None:
        store.get_project(server.project_id)
    known = {p.id for p in store.list_profiles()}
    if missing := [i for i in server.profile_ids if i not in known]:
        raise InvalidField(f"no profile with id {missing[0]}", "profile_ids")
    return server


def add_mcp_server(ctx: Context, server: SavedMcpServer) -> Done[SavedMcpServer]:
    """Save a new server (its name unique among all the user's servers)."""
    server = check_mcp_server(ctx.store, server.model_copy(update={"id": None}))
    return Done(value=ctx.store.add_mcp_server(server), changed=SERVERS)


def list_mcp_servers(ctx: Context) -> list[SavedMcpServer]:
    """Every saved server, in the order they were added."""
    return ctx.store.list_mcp_servers()


def find_mcp_server(ctx: Context, name: str) -> SavedMcpServer:
    """The saved server `name`; UserError if there is none."""
    return ctx.store.find_mcp_server(name)


def update_mcp_server(ctx: Context, server: SavedMcpServer) -> Done[SavedMcpServer]:
    """Save a changed server (by its id; its name may change)."""
    if server.id is None:
        raise UserError("the server to change has no id: add it instead")
    server = check_mcp_server(ctx.store, server)
    return Done(value=ctx.store.update_mcp_server(server), changed=SERVERS)


def remove_mcp_server(ctx: Context, name: str) -> Done[SavedMcpServer]:
    """Forget the server `name` (keyring keys it names are kept: other things may use
    them)."""
    server = ctx.store.find_mcp_server(name)
    assert server.id is not None
    ctx.store.delete_mcp_server(server.id)
    return Done(value=server, changed=SERVERS)


def launches_for_run(store: Store, project_id: int, profile_id: int | None) -> RunServers:
    """The user's servers a run of this project with this profile is given, their keys
    read from the keyring (blocking); UserError naming a key that is not stored."""
    servers = [s for s in store.list_mcp_servers() if s.for_run(project_id, profile_id)]
    launches = servers_for_run(servers, project_id, profile_id, secrets.get_key)
    keyed = [
        value
        for server, launch in zip(servers, launches, strict=True)
        for value in (
            *(launch.env[name] for name in server.env_keys),
            *(launch.headers[name] for name in server.header_keys),
            *server.headers.values(),  # a header is most often a token
        )
    ]
    return RunServers(launches=launches, secrets=keyed)


class RunServers(BaseModel):
    """The user's servers a run is given, and the values the log must never show."""

    launches: list[McpLaunch]
    secrets: list[str]
