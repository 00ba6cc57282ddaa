"""An MCP server as a run hands it to its agent: Seedbed's own (scoped to the run's task)
and the user's (Settings → MCP servers). Each agent CLI is given them its own way
(agents/cli: `CliAdapter.mcp_config`), the built-in agent connects to them itself."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from seedbed.domain.errors import UserError
from seedbed.domain.models import Model

# A server's name becomes part of its tools' names (Claude Code's mcp__NAME__TOOL, a
# TOML key for Codex): letters, digits, `_` and `-` only.
SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,47}")
SEEDBED_SERVER = "seedbed"  # Seedbed's own server, in every run
# A call to Seedbed's own server may wait for the longest question (question_wait_s's
# bound, a day) and its answer's way back: agent CLIs end a call sooner by default
# (OpenCode and Codex after 60 s, Gemini CLI after 10 minutes).
SEEDBED_CALL_TIMEOUT_S = 24 * 3600 + 120
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token


class McpLaunch(BaseModel):
    """How an agent reaches one MCP server: a command it starts and talks to over stdio,
    or a streamable-HTTP URL."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Its name: its tools are known to the agent by it.")
    command: str = Field("", description="stdio: the program (an absolute path or on PATH).")
    args: list[str] = Field(default_factory=list, description="stdio: its arguments.")
    env: dict[str, str] = Field(default_factory=dict, description="stdio: set for it.")
    url: str = Field("", description="HTTP: the server's URL (streamable HTTP).")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP: sent with each call.")
    call_timeout_s: int | None = Field(
        None, description="How long one tool call may take (None: the agent's own default)."
    )
    socket: str = Field(
        "",
        description="Seedbed's own server as an agent inside the engine (the built-in) "
        "reaches it: the run's Unix socket, connected to directly.",
    )

    @field_validator("name")
    @classmethod
    def _named(cls, name: str) -> str:
        if not SERVER_NAME.fullmatch(name):
            raise ValueError(
                f"{name!r} is not a server name (letters, digits, _ and -; 48 at most)"
            )
        return name

    @property
    def stdio(self) -> bool:
        return bool(self.command)


class SavedMcpServer(Model):
    """One of the user's MCP servers (Settings → MCP servers, `seedbed mcp add`): a
    command started over stdio or a streamable-HTTP URL, for every project or one, for
    every profile unless `profile_ids` names some.

    Values that may be secrets (a token in an environment variable or a header) can be
    kept out of the database: `env_keys` and `header_keys` name a key of the OS keyring
    (seedbed/secrets.py) whose value is put there when a run starts."""

    id: int | None = None
    name: str = Field(description="Its name: its tools are known to the agent by it.")
    command: str = Field("", description="stdio: the program (an absolute path or on PATH).")
    args: list[str] = Field(
        default_factory=list,
        description="stdio: its arguments.",
        json_schema_extra={"split": "shell"},
    )
    env: dict[str, str] = Field(default_factory=dict, description="stdio: variables set for it.")
    env_keys: dict[str, str] = Field(
        default_factory=dict, description="stdio: variables set to a keyring key, by key name."
    )
    url: str = Field("", description="HTTP: the server's URL (streamable HTTP).")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP: sent with each call.")
    header_keys: dict[str, str] = Field(
        default_factory=dict, description="HTTP: headers set to a keyring key, by key name."
    )
    project_id: int | None = Field(None, description="Only this project's runs (None: every).")
    profile_ids: list[int] = Field(
        default_factory=list, description="Only these profiles' runs (empty: every profile)."
    )
    enabled: bool = Field(True, description="Off: kept, given to no run.")

    @field_validator("name")
    @classmethod
    def _named(cls, name: str) -> str:
        if not SERVER_NAME.fullmatch(name):
            raise ValueError(
                f"{name!r} is not a server name (letters, digits, _ and -; 48 at most)"
            )
        if name == SEEDBED_SERVER:
            raise ValueError(f"{SEEDBED_SERVER!r} is Seedbed's own server: choose another name")
        return name

    @field_validator("env", "env_keys")
    @classmethod
    def _variables(cls, values: dict[str, str]) -> dict[str, str]:
        for name in values:
            if not VARIABLE_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an environment variable's name")
        return values

    @field_validator("headers", "header_keys")
    @classmethod
    def _headers(cls, values: dict[str, str]) -> dict[str, str]:
        for name in values:
            if not HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not an HTTP header's name")
        return values

    @model_validator(mode="after")
    def _one_way(self) -> SavedMcpServer:
        if bool(self.command) == bool(self.url):
            raise ValueError("give a server either a command (stdio) or a URL (HTTP)")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"an MCP server's URL starts with http:// or https://: {self.url!r}")
        if self.command and (self.headers or self.header_keys):
            raise ValueError("headers are for an HTTP server; a stdio server takes --env")
        if self.url and (self.args or self.env or self.env_keys):
            raise ValueError("arguments and variables are for a stdio server; HTTP takes headers")
        for given, keyed in ((self.env, self.env_keys), (self.headers, self.header_keys)):
            if both := sorted(set(given) & set(keyed)):
                raise ValueError(f"{', '.join(both)}: given both a value and a key")
        return self

    @property
    def stdio(self) -> bool:
        return bool(self.command)

    def for_run(self, project_id: int, profile_id: int | None) -> bool:
        """Whether a run of this project with this profile is given it."""
        if not self.enabled or self.project_id not in (None, project_id):
            return False
        return not self.profile_ids or profile_id in self.profile_ids

    def launch(self, key: Callable[[str], str | None]) -> McpLaunch:
        """How a run reaches it, `key(name)` giving a keyring key's value (None: not
        stored). UserError naming the key when one is missing."""

        def resolved(keyed: dict[str, str]) -> dict[str, str]:
            values = {}
            for variable, key_name in keyed.items():
                value = key(key_name)
                if value is None:
                    raise UserError(
                        f"MCP server {self.name!r}: no key {key_name!r} is stored for "
                        f"{variable} (`seedbed key set {key_name}`)"
                    )
                values[variable] = value
            return values

        return McpLaunch(
            name=self.name,
            command=self.command,
            args=self.args,
            env={**self.env, **resolved(self.env_keys)},
            url=self.url,
            headers={**self.headers, **resolved(self.header_keys)},
        )

    def summary(self) -> str:
        """One line without a value that could be a secret: variables and headers by
        name only."""
        if self.stdio:
            what = shlex.join([self.command, *self.args])
            names = sorted({*self.env, *self.env_keys})
            extra = f" (env: {', '.join(names)})" if names else ""
        else:
            what = shown_url(self.url)
            names = sorted({*self.headers, *self.header_keys})
            extra = f" (headers: {', '.join(names)})" if names else ""
        return what + extra

    def public(self) -> dict[str, object]:
        """Its JSON without the values of variables and headers (their names kept)."""
        data = self.model_dump(mode="json", exclude={"env", "headers"})
        data["env"] = sorted(self.env)
        data["headers"] = sorted(self.headers)
        data["url"] = shown_url(self.url)
        return data


def shown_url(url: str) -> str:
    """`url` as it may be shown: what could be a token as `***`: the user and password
    in it, its query's values (or bare items), its fragment. (A token in its path cannot
    be told from a name: put tokens in headers.)"""
    try:
        parts = urlsplit(url)
        named = parts.hostname is not None  # raises on a host it cannot read (`[::1`)
    except ValueError:
        return "(an address that cannot be read)"
    netloc = parts.netloc
    if named and "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = "&".join(
        f"{name}=***" if sep else "***"
        for name, sep, _value in (item.partition("=") for item in parts.query.split("&") if item)
    )
    fragment = "***" if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def servers_for_run(
    servers: list[SavedMcpServer],
    project_id: int,
    profile_id: int | None,
    key: Callable[[str], str | None],
) -> list[McpLaunch]:
    """The user's servers a run of this project and profile is given, in saved order."""
    return [s.launch(key) for s in servers if s.for_run(project_id, profile_id)]
