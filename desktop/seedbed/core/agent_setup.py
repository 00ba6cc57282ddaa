"""Setting up a first agent, as the window's short setup and welcome page do it: which
profiles can run, a builtin profile with its key checked and stored, a profile for a
model server found on this machine, what `agents doctor` finds of the CLIs.

Blocking (the network, the keyring, PATH, the store): the window runs these through
its engine host. What is looked for (CLIs on PATH, keys, model servers on 127.0.0.1) is
the engine's machine's, where the agents run: so each look is a verb, answered there.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

from pydantic import SecretStr

from seedbed import secrets
from seedbed.agents import readiness
from seedbed.agents.local_servers import detect
from seedbed.agents.urls import is_local
from seedbed.core.context import Changed, Context, Done
from seedbed.core.setup import add_profile, check_profile
from seedbed.domain.errors import UserError
from seedbed.domain.local_servers import DEFAULTS, Candidate, LocalServer
from seedbed.domain.models import DEFAULT_BASE_URLS, AgentKind, AgentProfile, ProviderKind
from seedbed.domain.slug import free_name

NO_AGENT = (
    "No agent yet. Seedbed's own agent needs an API key (or a local model server); a "
    "coding-agent CLI (Claude Code, Codex, Aider…) needs to be installed."
)


def agent_problems(ctx: Context, first_that_runs: bool = False) -> dict[str, str]:
    """Each profile's name and why it cannot run ("" for one that can), in the store's
    order; with first_that_runs, up to the first that can (agents/readiness.py)."""
    return readiness.problems(ctx.store, first_that_runs)


def any_works(found: dict[str, str]) -> bool:
    """Whether one of the profiles agent_problems looked at can run."""
    return readiness.any_works(found)


def describe(found: dict[str, str]) -> str:
    """What the user reads of their agents: which can run, and why the others cannot."""
    if not found:
        return NO_AGENT
    ready = [name for name, problem in found.items() if not problem]
    lines = [f"Agents: {', '.join(ready)}."] if ready else ["No agent can run yet."]
    lines += [f"{name} cannot run: {problem}" for name, problem in found.items() if problem]
    return "\n".join(lines)


def key_name_for(provider: ProviderKind, base_url: str, with_key: bool) -> str:
    """The keyring entry a new profile's key goes under; "" for the provider's own.

    The provider's name is for its own API only: a key for another server behind the
    same protocol (OpenRouter, a company proxy) is stored under that server's host, so
    it neither overwrites the real OpenAI key nor is the OpenAI key sent there. A local
    server is given a key only when one is typed. UserError for a URL without a host."""
    url = base_url.strip()
    if not url:
        return ""
    parsed = urlparse(url)
    try:
        port = parsed.port
    except ValueError:  # ":abc"
        port, parsed = None, urlparse("")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UserError(f"the base URL needs http:// or https:// and a host, not {url!r}")
    if parsed.hostname == urlparse(DEFAULT_BASE_URLS[provider]).hostname:
        return ""
    if is_local(url) and not with_key:
        return ""
    return f"{parsed.hostname}:{port}" if port else parsed.hostname


def create_agent(
    ctx: Context,
    kind: AgentKind,
    provider: ProviderKind | None = None,
    model: str = "",
    base_url: str = "",
    key: str = "",
) -> Done[AgentProfile]:
    """Make the profile (blocking: the network, the keyring, the store). Everything is
    checked before the key is stored (the provider is asked whether it takes the key),
    under the provider's name, or the server's for another base URL (key_name_for); if
    the key is refused or the keyring cannot take it, the profile is removed again."""
    store = ctx.store
    taken = {p.name for p in store.list_profiles()}
    made_one = Changed(profiles=True)
    if kind is not AgentKind.BUILTIN:
        return add_profile(ctx, free_name(kind.value, taken), kind)
    assert provider is not None
    if not model.strip():
        raise UserError("name the model (the provider's name for it)")
    key, base_url = key.strip(), base_url.strip()
    options: dict[str, object] = {"provider": provider, "model": model.strip()}
    if base_url:
        options["base_url"] = base_url
    key_name = key_name_for(provider, base_url, bool(key))
    if key_name:
        options["key_name"] = key_name
    profile = check_profile(free_name(provider.value, taken), kind, **options)
    if key and base_url.startswith("http://") and not is_local(base_url):
        raise UserError(f"a key would go unencrypted to {base_url}: use an https:// base URL")
    made = store.add_profile(profile)  # first: a name taken meanwhile stores no key
    if key:
        try:
            store_checked_key(
                provider, made.effective_base_url(), key_name or provider.value, key, made.model
            )
        except BaseException:
            store.delete_profile(made.id)  # no agent without the key it was made with
            raise
    return Done(value=made, changed=made_one)


def store_checked_key(
    provider: ProviderKind, base_url: str, name: str, key: str, model: str
) -> None:
    """Store the key under `name` once the provider took it (and its model list shows
    no typo in `model`). A key the provider could not be asked about (offline, no model
    list) replaces no other key of that name: that one may be the key that works."""
    # Here, not at the top: it loads httpx, which the window's start does not need.
    from seedbed.agents.builtin.providers.key_check import check_key, model_problem

    listed = check_key(provider, base_url, SecretStr(key))
    if listed is None:
        stored = secrets.get_key(name)
        if stored and stored != key:
            raise UserError(
                f"another key {name!r} is stored already and this one could not be checked "
                f"with {base_url}; to replace it, set it in Settings → API keys"
            )
    elif typo := model_problem(model, listed):
        raise UserError(typo)
    secrets.set_key(name, key)


def cli_versions(ctx: Context) -> dict[str, str]:
    """Each CLI kind: what `agents doctor` says of it on the engine's machine ("" where
    it is not usable)."""
    from seedbed.agents.cli.doctor import check_all

    found = asyncio.run(check_all())
    return {
        f.kind: (f"{f.version or '?'} at {f.path}" if f.path and f.supported else "") for f in found
    }


def local_servers(ctx: Context, candidates: tuple[Candidate, ...] = DEFAULTS) -> list[LocalServer]:
    """The model servers on the engine's machine (Ollama, LM Studio) that answer, with
    their models (blocking, quick)."""
    return detect(candidates)


def profile_name(server: LocalServer, taken: set[str]) -> str:
    """A free profile name for a local server: its name, lower-case, dashed."""
    return free_name(server.name.lower().replace(" ", "-"), taken)


def add_local_profile(ctx: Context, server: LocalServer, model: str) -> Done[AgentProfile]:
    """A builtin profile for a model server on this machine (blocking: the store)."""
    taken = {p.name for p in ctx.store.list_profiles()}
    return add_profile(
        ctx,
        profile_name(server, taken),
        AgentKind.BUILTIN,
        {"provider": ProviderKind.OPENAI, "base_url": server.base_url, "model": model},
    )
