"""The model servers on this machine that Seedbed can use without a key (Ollama and LM
Studio on their default ports): where they are looked for, and what one found offers.
agents/local_servers.py looks; the window shows what it found."""

from __future__ import annotations

from pydantic import Field

from seedbed.domain.models import Model


class LocalServer(Model):
    name: str
    base_url: str = Field(description="Its OpenAI-compatible base URL, for a builtin profile.")
    models: list[str] = Field(default_factory=list)

    def chat_models(self) -> list[str]:
        """The models an agent can talk to: an embedding model (nomic-embed-text, say)
        answers no chat."""
        return [model for model in self.models if "embed" not in model.lower()]


class Candidate(Model):
    name: str
    probe_url: str  # answers with its models
    base_url: str
    style: str  # "ollama" (/api/tags) or "openai" (/v1/models)


DEFAULTS = (
    Candidate(
        name="Ollama",
        probe_url="http://127.0.0.1:11434/api/tags",
        base_url="http://127.0.0.1:11434/v1",
        style="ollama",
    ),
    Candidate(
        name="LM Studio",
        probe_url="http://127.0.0.1:1234/v1/models",
        base_url="http://127.0.0.1:1234/v1",
        style="openai",
    ),
)
