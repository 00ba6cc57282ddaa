"""The model APIs the built-in agent speaks, behind one `Provider` interface."""

from __future__ import annotations

from pydantic import SecretStr

from seedbed.agents.builtin.providers.anthropic import AnthropicProvider
from seedbed.agents.builtin.providers.openai import OpenAIProvider
from seedbed.agents.builtin.types import Provider, ProviderConfig
from seedbed.domain.errors import UserError
from seedbed.domain.models import AgentProfile, ProviderKind

__all__ = ["AnthropicProvider", "OpenAIProvider", "make_provider", "provider_for"]


def make_provider(kind: ProviderKind, config: ProviderConfig) -> Provider:
    """The provider of one kind, for one configuration."""
    if kind is ProviderKind.ANTHROPIC:
        return AnthropicProvider(config)
    return OpenAIProvider(config)


def provider_for(profile: AgentProfile, api_key: SecretStr | None) -> Provider:
    """The provider a builtin profile speaks, configured from the profile."""
    if profile.provider is None:
        raise UserError(f"profile {profile.name!r} names no provider (openai or anthropic)")
    config = ProviderConfig(
        base_url=profile.effective_base_url(),
        model=profile.model,
        api_key=api_key,
        max_tries=profile.max_tries,
        read_timeout=profile.read_timeout,
        max_output_tokens=profile.max_output_tokens,
        # A whole answer may stream slowly (a local model at a few tokens a second): the
        # cap per attempt allows the longest answer at 5 tokens/s, and never under 10 min,
        # within the profile's bound on the whole call (every attempt and wait).
        max_call_seconds=min(max(600.0, profile.max_output_tokens / 5), profile.max_call_seconds),
        max_total_seconds=profile.max_call_seconds,
        max_event_bytes=profile.max_event_bytes,
    )
    return make_provider(profile.provider, config)
