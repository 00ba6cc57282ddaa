"""Local model servers found on their ports: real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from seedbed.agents.local_servers import detect
from seedbed.domain import local_servers
from seedbed.domain.local_servers import Candidate, LocalServer


class Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, object]] = {}

    def do_GET(self) -> None:
        body = self.routes.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_ollama_and_lm_studio_are_found_with_their_models(server: str) -> None:
    Handler.routes = {
        "/api/tags": {"models": [{"name": "qwen2.5-coder:7b"}, {"name": "llama3:8b"}]},
        "/v1/models": {"object": "list", "data": [{"id": "mistral-small"}]},
    }
    candidates = (
        Candidate(name="Ollama", probe_url=f"{server}/api/tags", base_url=f"{server}/v1",
                  style="ollama"),
        Candidate(name="LM Studio", probe_url=f"{server}/v1/models", base_url=f"{server}/v1",
                  style="openai"),
        Candidate(name="Nothing", probe_url="http://127.0.0.1:9/v1/models",
                  base_url="http://127.0.0.1:9/v1", style="openai"),
    )  # fmt: skip
    assert detect(candidates) == [
        LocalServer(
            name="Ollama", base_url=f"{server}/v1", models=["qwen2.5-coder:7b", "llama3:8b"]
        ),
        LocalServer(name="LM Studio", base_url=f"{server}/v1", models=["mistral-small"]),
    ]


def test_a_server_that_answers_something_else_is_not_taken(server: str) -> None:
    Handler.routes = {"/api/tags": ["not", "an", "object"]}
    candidates = (
        Candidate(name="Ollama", probe_url=f"{server}/api/tags", base_url=f"{server}/v1",
                  style="ollama"),
        Candidate(name="Missing", probe_url=f"{server}/v1/models", base_url=f"{server}/v1",
                  style="openai"),
    )  # fmt: skip
    assert detect(candidates) == [LocalServer(name="Ollama", base_url=f"{server}/v1")]


def test_a_null_model_list_is_no_crash_and_hides_no_other_server(server: str) -> None:
    Handler.routes = {
        "/api/tags": {"models": None},
        "/v1/models": {"data": [{"id": "mistral-small"}]},
    }
    candidates = (
        Candidate(name="Ollama", probe_url=f"{server}/api/tags", base_url=f"{server}/v1",
                  style="ollama"),
        Candidate(name="LM Studio", probe_url=f"{server}/v1/models", base_url=f"{server}/v1",
                  style="openai"),
    )  # fmt: skip
    assert [(s.name, s.models) for s in detect(candidates)] == [
        ("Ollama", []),
        ("LM Studio", ["mistral-small"]),
    ]


def test_the_default_places_are_ollamas_and_lm_studios_own_ports() -> None:
    by_name = {candidate.name: candidate for candidate in local_servers.DEFAULTS}
    assert by_name["Ollama"].probe_url == "http://127.0.0.1:11434/api/tags"
    assert by_name["Ollama"].base_url == "http://127.0.0.1:11434/v1"  # its OpenAI API
    assert by_name["LM Studio"].probe_url == "http://127.0.0.1:1234/v1/models"
    assert by_name["LM Studio"].base_url == "http://127.0.0.1:1234/v1"
