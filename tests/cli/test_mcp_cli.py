"""`seedbed mcp add/list/set/remove`: the user's MCP servers on the command line, saved
in the store, listed without the values of their variables and headers."""

from __future__ import annotations

from tests.conftest import SeedbedCli
from tests.test_cli import error_line


def test_add_list_set_and_remove_servers(seedbed: SeedbedCli, project: str) -> None:
    seedbed.ok("profile", "add", "fixer", "--kind", "command", "--command", "true")
    added = seedbed.ok(
        "mcp", "add", "files", "--env", "TOKEN=s3cret-value", "--env-key", "GH=github",
        "--project", project, "--profile", "fixer", "--json",
        "--", "npx", "-y", "@acme/server", "--root", "/tmp",
    ).json()  # fmt: skip
    seedbed.ok("mcp", "add", "web", "--url", "https://mcp.example/x?key=k3y-value",
               "--header", "Auth=Bearer zz")  # fmt: skip

    assert (added["command"], added["args"]) == ("npx", ["-y", "@acme/server", "--root", "/tmp"])
    listed = seedbed.ok("mcp", "list").out
    assert "files" in listed and "npx -y @acme/server --root /tmp (env: GH, TOKEN)" in listed
    assert f"project {project}; fixer" in listed
    assert "https://mcp.example/x?key=*** (headers: Auth)" in listed and "every profile" in listed
    as_json = seedbed.ok("mcp", "list", "--json")
    for shown in (listed, as_json.out):
        assert "s3cret-value" not in shown and "Bearer zz" not in shown
        assert "k3y-value" not in shown  # a token in the URL's query too
    assert as_json.json()[0]["env"] == ["TOKEN"] and as_json.json()[0]["env_keys"] == {
        "GH": "github"
    }

    seedbed.ok("mcp", "set", "files", "--all-profiles", "--all-projects", "--disable")
    listed = seedbed.ok("mcp", "list").out
    assert "every project; every profile  (disabled)" in listed.split("web")[0]
    assert seedbed.ok("mcp", "remove", "files").out == "MCP server files removed\n"
    assert [s["name"] for s in seedbed.ok("mcp", "list", "--json").json()] == ["web"]


def test_bad_servers_are_refused_with_the_reason(seedbed: SeedbedCli) -> None:
    seedbed.ok("mcp", "add", "one", "--", "true")

    assert "already exists" in error_line(seedbed("mcp", "add", "one", "--", "true"))
    assert "Seedbed's own" in error_line(seedbed("mcp", "add", "seedbed", "--", "true"))
    assert "either a command" in error_line(seedbed("mcp", "add", "none"))
    assert "http:// or https://" in error_line(seedbed("mcp", "add", "f", "--url", "ftp://x"))
    assert "for an HTTP server" in error_line(
        seedbed("mcp", "add", "h", "--header", "A=b", "--", "x")
    )
    assert "variable's name" in error_line(seedbed("mcp", "add", "v", "--env", "1A=b", "--", "x"))
    assert "NAME=VALUE" in error_line(seedbed("mcp", "add", "w", "--env", "novalue", "--", "x"))
    assert "no profile named" in error_line(seedbed("mcp", "add", "p", "--profile", "x", "--", "x"))
    assert "no MCP server named" in error_line(seedbed("mcp", "remove", "ghost"))
