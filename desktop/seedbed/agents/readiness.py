"""Whether an agent profile can run a task now: its CLI installed, its key at hand.

What the first run and the board ask to decide whether to offer the short setup: a
profile that exists but cannot run (no key stored, the CLI not installed) is no agent
yet for the user. The same checks a run makes when it starts, made early."""

from __future__ import annotations

import asyncio
import os
import shlex

from seedbed.agents.cli.adapter import (
    CliAdapter,
    VersionTimeout,
    find_binary,
    probe_version,
    unsupported,
)
from seedbed.agents.cli.registry import adapter_for, is_cli
from seedbed.agents.keys import key_for
from seedbed.agents.process import SandboxUnavailable
from seedbed.agents.urls import is_local
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentKind, AgentProfile
from seedbed.sandbox.bwrap import sandbox_support
from seedbed.store import Store


def problem(profile: AgentProfile) -> str:
    """Why `profile` cannot run now, or "" when it can. Blocks (PATH, the keyring)."""
    try:
        if is_cli(profile.kind):
            adapter = adapter_for(profile.kind)
            trouble = version_problem(adapter, find_binary(adapter, profile))
            if trouble:
                return trouble
        elif profile.kind is AgentKind.COMMAND and not shlex.split(profile.command or ""):
            return "it has no command"
        if profile.sandbox and not sandbox_support().works:
            return str(SandboxUnavailable(sandbox_support().problem))
        key_for(profile)
    except UserError as exc:
        return str(exc)
    except ValueError as exc:  # a command line shlex cannot split: the shell will say more
        return f"its command does not parse: {exc}"
    return ""


# What `--version` said of each program, by its path and its file's identity: asked once
# per program installed, not at each look (a CLI on Node takes a while to answer).
_versions: dict[tuple[str, int, int], str] = {}


def version_problem(adapter: CliAdapter, binary: str) -> str:
    """Why the CLI at `binary` is not one Seedbed can run (too old, says no version), or
    "". Blocks: runs `binary --version` the first time."""
    stat = os.stat(binary)
    key = (binary, stat.st_mtime_ns, stat.st_size)
    if key not in _versions and _in_event_loop():
        return ""  # not asked here: the run asks before it starts
    if key not in _versions:
        try:
            text, version = asyncio.run(probe_version(adapter, binary))
        except OSError as exc:
            _versions[key] = f"{adapter.label} at {binary} does not run: {exc.strerror or exc}"
        except VersionTimeout as exc:
            return str(exc)  # not kept: a CLI busy once (a first start) may answer next time
        else:
            _versions[key] = "" if adapter.supports(version) else unsupported(adapter, binary, text)
    return _versions[key]


def problems(store: Store, first_that_runs: bool = False) -> dict[str, str]:
    """Each profile's name and its problem ("" for one that can run), in the store's
    order. Blocks: call it through the engine host.

    With first_that_runs, it stops at the first profile that can run, and looks at the
    profiles that need no key from the keyring first: a locked keyring that asks to be
    unlocked is asked only when none of those can run."""
    profiles = store.list_profiles()
    if not first_that_runs:
        return {profile.name: problem(profile) for profile in profiles}
    found: dict[str, str] = {}
    for profile in sorted(profiles, key=needs_keyring):
        found[profile.name] = problem(profile)
        if not found[profile.name]:
            break
    return found


def needs_keyring(profile: AgentProfile) -> bool:
    """Whether looking at the profile reads the keyring (a key it names or its provider's)."""
    if is_cli(profile.kind) or profile.kind is AgentKind.COMMAND:
        return bool(profile.key_name)
    if profile.kind is AgentKind.BUILTIN:
        return bool(profile.key_name) or not is_local(profile.effective_base_url())
    return False


def any_works(found: dict[str, str]) -> bool:
    return any(not text for text in found.values())


def default_profile(store: Store) -> AgentProfile | None:
    """The profile a task gets when neither it nor its project names one: the first
    that can run (one that cannot would only fail), else the first. Blocks."""
    profiles = store.list_profiles()
    return next((p for p in profiles if not problem(p)), profiles[0] if profiles else None)


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
