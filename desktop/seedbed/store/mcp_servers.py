"""The Store's queries on the user's MCP servers (Settings → MCP servers).

A server's row keeps its name and project in columns (unique names, and a project's go
with it) and the rest as JSON. Variables and headers given as values are kept here; the
ones given as keyring keys are kept as the keys' names only (domain/mcp_servers.py).
"""

from __future__ import annotations

import json
import sqlite3
import time

from seedbed.domain.errors import UserError
from seedbed.domain.mcp_servers import SavedMcpServer
from seedbed.store.connection import Database

_IDENTITY = {"id", "name", "project_id"}


def server_from_row(row: sqlite3.Row) -> SavedMcpServer:
    identity = {"id": row["id"], "name": row["name"], "project_id": row["project_id"]}
    return SavedMcpServer.model_validate({**json.loads(row["config"]), **identity})


class McpServerQueries(Database):
    def add_mcp_server(self, server: SavedMcpServer) -> SavedMcpServer:
        config = server.model_dump_json(exclude=_IDENTITY)
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM mcp_servers WHERE name = ?", (server.name,)).fetchone():
                raise UserError(f"an MCP server named {server.name!r} already exists")
            cur = conn.execute(
                "INSERT INTO mcp_servers (name, project_id, config, created_at)"
                " VALUES (?, ?, ?, ?)",
                (server.name, server.project_id, config, time.time()),
            )
        return server.model_copy(update={"id": cur.lastrowid})

    def list_mcp_servers(self) -> list[SavedMcpServer]:
        rows = self.conn.execute("SELECT * FROM mcp_servers ORDER BY id").fetchall()
        return [server_from_row(row) for row in rows]

    def find_mcp_server(self, name: str) -> SavedMcpServer:
        row = self.conn.execute("SELECT * FROM mcp_servers WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UserError(f"no MCP server named {name!r} (see `seedbed mcp list`)")
        return server_from_row(row)

    def update_mcp_server(self, server: SavedMcpServer) -> SavedMcpServer:
        config = server.model_dump_json(exclude=_IDENTITY)
        with self.transaction() as conn:
            clash = conn.execute(
                "SELECT 1 FROM mcp_servers WHERE name = ? AND id != ?", (server.name, server.id)
            ).fetchone()
            if clash:
                raise UserError(f"an MCP server named {server.name!r} already exists")
            cur = conn.execute(
                "UPDATE mcp_servers SET name = ?, project_id = ?, config = ? WHERE id = ?",
                (server.name, server.project_id, config, server.id),
            )
            if cur.rowcount == 0:
                raise UserError(f"no MCP server with id {server.id}")
        return server

    def delete_mcp_server(self, server_id: int) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM mcp_servers WHERE id = ?", (server_id,))
