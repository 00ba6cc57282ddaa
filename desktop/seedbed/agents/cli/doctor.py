"""`seedbed agents doctor`: which coding-agent CLIs are installed, and usable."""

from __future__ import annotations

import asyncio
import shutil

from pydantic import BaseModel

from seedbed.agents.cli.adapter import CliAdapter, VersionTimeout, probe_version, version_timeout
from seedbed.agents.cli.registry import ADAPTERS, adapter_for


class Found(BaseModel):
    kind: str
    label: str
    path: str = ""
    version: str = ""
    supported: bool = False
    hint: str = ""
    mcp_client: bool = True  # whether it takes the user's MCP servers


async def check(adapter: CliAdapter) -> Found:
    found = Found(
        kind=adapter.kind.value,
        label=adapter.label,
        hint=adapter.install_hint,
        mcp_client=adapter.mcp_client,
    )
    path = shutil.which(adapter.binary)
    if path is None:
        return found
    found.path = path
    try:
        _text, version = await probe_version(adapter, path)
    except OSError as exc:
        found.hint = f"it does not run: {exc.strerror}"
        return found
    except VersionTimeout:
        found.hint = f"it did not answer --version within {version_timeout():g} s"
        return found
    found.version = ".".join(map(str, version)) if version else ""
    found.supported = adapter.supports(version)
    return found


async def check_all() -> list[Found]:
    return list(await asyncio.gather(*(check(adapter_for(kind)) for kind in ADAPTERS)))
