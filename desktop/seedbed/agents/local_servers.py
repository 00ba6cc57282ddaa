"""Model servers on this machine that Seedbed can use without a key: Ollama and LM Studio
on their default ports, found by asking them for their models (blocking, quick)."""

from __future__ import annotations

from seedbed.domain.local_servers import DEFAULTS, Candidate, LocalServer

TIMEOUT_S = 0.5  # a server that is there answers at once


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
