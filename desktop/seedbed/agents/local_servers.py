"""Model servers on this machine that Seedbed can use without a key: Ollama and LM Studio
on their default ports, found by asking them for their models (blocking, quick)."""

from __future__ import annotations

from pydantic import Field

from seedbed.domain.models import Model

TIMEOUT_S = 0.5  # a server that is there answers at once


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


def detect(candidates: tuple[Candidate, ...] = DEFAULTS) -> list[LocalServer]:
    """The candidates that answer, with the models they offer (none may be loaded yet)."""
    import httpx  # here: the window imports this module at start, and httpx is slow to load

    found = []
    with httpx.Client(timeout=TIMEOUT_S, trust_env=False) as client:
        for candidate in candidates:
            try:
                response = client.get(candidate.probe_url)
                response.raise_for_status()
                data = response.json()
            except (httpx.HTTPError, ValueError):
                continue
            found.append(
                LocalServer(
                    name=candidate.name,
                    base_url=candidate.base_url,
                    models=_models(data, candidate.style),
                )
            )
    return found


def _models(data: object, style: str) -> list[str]:
    if not isinstance(data, dict):
        return []
    items = data.get("models" if style == "ollama" else "data")
    if not isinstance(items, list):  # a server that answers something else
        return []
    key = "name" if style == "ollama" else "id"
    return [str(item[key]) for item in items if isinstance(item, dict) and key in item]
