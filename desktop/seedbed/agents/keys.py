"""Which key a profile needs, and where it comes from: decided before a run starts."""

from __future__ import annotations

from pydantic import SecretStr

from seedbed import secrets
from seedbed.agents.cli.registry import adapter_for, is_cli
from seedbed.agents.urls import is_local
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentKind, AgentProfile


def env_may_stand_in(name: str, provider: str) -> bool:
    """Whether the provider's environment variable (OPENAI_API_KEY…) may stand in for the
    key `name`: only for the provider's own key name, which a profile has for the
    provider's own API or when it names that key itself (a local proxy to the provider,
    say). A profile for another server has the server's key name
    (AgentProfile.effective_key_name): the OpenAI key is never sent to OpenRouter."""
    return name == provider


def cli_key_for(profile: AgentProfile) -> SecretStr | None:
    """The key a coding-agent CLI gets in its environment variable: only the one the
    profile names (--key-name), from the keyring.

    A CLI is usually logged in on its own (a Claude or ChatGPT subscription); a key in
    its variable would override that login and bill the API instead, so a key stored
    for the built-in agent is never handed to a CLI unasked. None is no error: the CLI
    also reads its variable from the environment it inherits.
    """
    if not profile.key_name:
        return None
    provider, variable = adapter_for(profile.kind).key_source(profile)
    env = env_may_stand_in(profile.key_name, provider)
    found = secrets.resolve_key(profile.key_name, provider, env=env)
    if found is None:
        # The profile asked for this key: going on without it would bill whatever
        # login or variable the CLI finds instead.
        hint = f" or set {variable}" if env else ""
        raise UserError(
            f"no API key {profile.key_name!r} for profile {profile.name!r}: store one with "
            f"`seedbed key set {profile.key_name}`{hint}"
        )
    base_url = profile.base_url
    if base_url.startswith("http://") and not is_local(base_url):
        raise UserError(
            f"profile {profile.name!r} would send its API key unencrypted to {base_url}; "
            "use an https:// base URL"
        )
    return found.value


def command_key_for(profile: AgentProfile) -> SecretStr | None:
    """The key a command profile asks for by naming it (`key_name`), else None: a command
    gets no key unasked. A provider's name ("openai") may also be met by its variable."""
    if not profile.key_name:
        return None
    found = secrets.resolve_key(profile.key_name, profile.key_name)
    if found is None:
        variable = secrets.ENV_FALLBACK.get(profile.key_name)
        hint = f" or set {variable}" if variable else ""
        raise UserError(
            f"no API key {profile.key_name!r} for profile {profile.name!r}: store one with "
            f"`seedbed key set {profile.key_name}`{hint}"
        )
    return found.value


def key_for(profile: AgentProfile) -> SecretStr | None:
    """The profile's API key, or None when it needs none; UserError when one is missing.

    A server on this machine gets a key only when the profile names one (--key-name):
    the provider's own key (the real OpenAI key, say) is never sent to a local server
    by default. A key is never sent over plain http to another machine.
    Blocks (the keyring may talk D-Bus): call it through asyncio.to_thread on a loop.
    """
    if is_cli(profile.kind):
        return cli_key_for(profile)
    if profile.kind is AgentKind.COMMAND:
        return command_key_for(profile)
    if profile.kind is not AgentKind.BUILTIN or profile.provider is None:
        return None
    base_url = profile.effective_base_url()
    local = is_local(base_url)
    if local and not profile.key_name:
        return None
    name = profile.effective_key_name()
    env = env_may_stand_in(name, profile.provider.value)
    found = secrets.resolve_key(name, profile.provider.value, env=env)
    if found is not None:
        if base_url.startswith("http://") and not local:
            raise UserError(
                f"profile {profile.name!r} would send its API key unencrypted to {base_url}; "
                "use an https:// base URL"
            )
        return found.value
    if local:
        return None
    variable = secrets.ENV_FALLBACK.get(profile.provider.value, "") if env else ""
    hint = f" or set {variable}" if variable else ""
    message = (
        f"no API key {name!r} for profile {profile.name!r}: store one with "
        f"`seedbed key set {name}`{hint}"
    )
    problem = secrets.keyring_problem()
    if problem:
        message += f" (and the keyring could not be read: {problem})"
    raise UserError(message)
