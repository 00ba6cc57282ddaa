"""What one sandboxed process may see and do: a `SandboxPlan`, pure data.

The plan is made once per run (engine) and turned into a bubblewrap command line by
sandbox/bwrap.py. Everything is read-only but what the plan lists as writable; the home,
/tmp, the run-time dir, Seedbed's data dir and the main checkout are hidden (empty
tmpfs), and only what the plan binds back is seen in them again.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from seedbed.domain.models import SandboxNetwork


class Bind(BaseModel):
    """`source` seen at `target` inside (the same path unless moved), writable or not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Path
    target: Path
    writable: bool = False


# Every sandbox's own /tmp: a fresh tmpfs, as hiding as a hidden place. What a helper or
# a program needs from the machine's /tmp (a checkout's interpreter, a CLI installed
# there) is bound back as from a hidden place.
SANDBOX_TMP = Path("/tmp")
PROXY_DIR_INSIDE = Path("/tmp/.seedbed-proxy")
# Where the directory of the run's MCP socket (Seedbed's own server) is seen inside.
TALKBACK_DIR_INSIDE = Path("/tmp/.seedbed-mcp")
PROXY_SOCKET = "proxy.sock"


class SandboxPlan(BaseModel):
    """The sandbox of one run's processes (the agent, its tools, the setup and checks)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cwd: Path = Field(description="Where the process starts (the worktree).")
    hidden: list[Path] = Field(
        default_factory=list, description="Replaced by an empty directory, before the binds."
    )
    binds: list[Bind] = Field(default_factory=list, description="Seen again, in this order.")
    network: SandboxNetwork = SandboxNetwork.NONE
    proxy_dir: Path | None = Field(
        None,
        description="network model: the directory of the filtering proxy's Unix socket "
        "(outside; seen inside at PROXY_DIR_INSIDE).",
    )
    allowed: list[str] = Field(
        default_factory=list, description="network model: the hosts the proxy lets through."
    )
    forwards: list[tuple[str, int]] = Field(
        default_factory=list,
        description="network model: loopback (host, port) served inside and tunnelled out "
        "through the proxy (a model server on this machine).",
    )
    relay_binds: list[Bind] = Field(
        default_factory=list,
        description="What Seedbed's own helpers inside (the relay, the MCP shim) need: "
        "this Python and Seedbed's package.",
    )
    talkback_dir: Path | None = Field(
        None,
        description="The directory of the run's MCP socket (Seedbed's own server; outside; "
        "seen inside at TALKBACK_DIR_INSIDE).",
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="Set inside, over the process's own."
    )
    passed_env: list[str] = Field(
        default_factory=list,
        description="Variables kept inside though they look like a secret (the run's own "
        "key; the profile's and project's sandbox_env).",
    )
    homes: Path | None = Field(
        None,
        description="Where an agent CLI's own directories of the home are kept for the "
        "sandbox (Seedbed's, apart from the user's: what runs there never writes the "
        "user's own config).",
    )
