"""core/mcp_servers.py: the user's MCP servers saved in a real store, and the ones a run
is given, their keyring keys read from a real (file) keyring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from seedbed import secrets
from seedbed.core.context import Context
from seedbed.core.mcp_servers import (
    add_mcp_server,
    launches_for_run,
    list_mcp_servers,
    remove_mcp_server,
    update_mcp_server,
)
from seedbed.core.setup import add_profile, add_project
from seedbed.domain.errors import UserError
from seedbed.domain.mcp_servers import McpLaunch, SavedMcpServer
from seedbed.domain.models import AgentKind
from tests.conftest import make_repo
from tests.keyring_backends import FileStore


@pytest.fixture
def ctx(data_dir: Path) -> Iterator[Context]:
    context = Context.open(data_dir)
    yield context
    context.store.close()


def test_a_run_gets_the_servers_of_its_project_and_profile(
    ctx: Context, repo: Path, tmp_path: Path, file_keyring: FileStore
) -> None:
    demo = add_project(ctx, repo, "demo").value
    fixer = add_profile(ctx, "fixer", AgentKind.COMMAND, {"command": "true"}).value
    other = add_profile(ctx, "other", AgentKind.COMMAND, {"command": "true"}).value
    secrets.set_key("github", "ghp-secret")
    add_mcp_server(ctx, SavedMcpServer(name="everywhere", command="srv", env_keys={"GH": "github"}))
    other_project = add_project(ctx, make_repo(tmp_path / "other", {"a": "a\n"}), "other").value
    add_mcp_server(
        ctx, SavedMcpServer(name="elsewhere", url="http://h/", project_id=other_project.id)
    )
    mine = add_mcp_server(
        ctx,
        SavedMcpServer(name="mine", url="https://h/", profile_ids=[fixer.id], project_id=demo.id),
    ).value
    add_mcp_server(ctx, SavedMcpServer(name="off", command="x", enabled=False))

    given = launches_for_run(ctx.store, demo.id, fixer.id)
    assert given.secrets == ["ghp-secret"]
    assert given.launches == [
        McpLaunch(name="everywhere", command="srv", env={"GH": "ghp-secret"}),
        McpLaunch(name="mine", url="https://h/"),
    ]
    assert [s.name for s in launches_for_run(ctx.store, demo.id, other.id).launches] == [
        "everywhere"
    ]

    update_mcp_server(ctx, mine.model_copy(update={"profile_ids": [], "name": "ours"}))
    assert [s.name for s in launches_for_run(ctx.store, demo.id, other.id).launches] == [
        "everywhere",
        "ours",
    ]
    secrets.delete_key("github")
    with pytest.raises(UserError, match=r"no key 'github' is stored for GH"):
        launches_for_run(ctx.store, demo.id, other.id)
    remove_mcp_server(ctx, "everywhere")
    assert [s.name for s in list_mcp_servers(ctx)] == ["elsewhere", "ours", "off"]


def test_a_removed_projects_servers_go_with_it(ctx: Context, repo: Path) -> None:
    demo = add_project(ctx, repo, "demo").value
    add_mcp_server(ctx, SavedMcpServer(name="only-demo", command="x", project_id=demo.id))

    with pytest.raises(UserError, match="no profile with id 99"):
        add_mcp_server(ctx, SavedMcpServer(name="ghost", command="x", profile_ids=[99]))
    ctx.store.delete_project(demo.id)
    assert list_mcp_servers(ctx) == []
