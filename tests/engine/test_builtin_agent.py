"""The built-in agent end to end: the real engine, a real model server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from seedbed.core.runs import processes_of_run
from seedbed.store import Store
from tests.conftest import Result, SeedbedCli, git
from tests.keyring_backends import FileStore
from tests.model_server import ModelServer, answer, hang, http_error

KEY = "sk-test-9f8e7d6c5b4a-NEVER-LOG-THIS-KEY"


def builtin_profile(
    seedbed: SeedbedCli, provider: str, base_url: str, *extra: str, name: str = "bot"
) -> None:
    seedbed.ok(
        "profile", "add", name, "--kind", "builtin", "--provider", provider,
        "--model", "test-model", "--base-url", base_url, *extra,
    )  # fmt: skip


def run_task(seedbed: SeedbedCli, title: str = "Say hello", *extra: str) -> dict[str, Any]:
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", title, "--start", *extra)
    seedbed.ok("run", "--until-idle")
    return seedbed.show(task_id.out.strip())


WRITE_AND_CHECK = (
    answer(
        "I will write the file.",
        tool_calls=[("call_1", "write_file", {"path": "hello.txt", "content": "hello\n"})],
        usage=(1200, 40),
        split_every=7,
    ),
    answer(
        tool_calls=[("call_2", "run_command", {"command": "cat hello.txt && echo checked"})],
        usage=(1500, 20),
        split_every=11,
    ),
    answer("Done: hello.txt says hello.", usage=(1700, 15)),
)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_the_builtin_agent_writes_a_file_and_runs_a_command(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    provider: str,
) -> None:
    url = model_server.openai_url if provider == "openai" else model_server.url
    seedbed.ok("key", "set", provider, input=KEY)
    builtin_profile(seedbed, provider, url, "--price-in", "3", "--price-out", "15",
                    "--context-window", "10000", "--key-name", provider)  # fmt: skip
    model_server.script(*WRITE_AND_CHECK)

    shown = run_task(seedbed)

    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert shown["diff"] == {"files": 1, "insertions": 1, "deletions": 0}
    assert (Path(shown["worktree"]) / "hello.txt").read_text() == "hello\n"
    [run] = shown["runs"]
    assert (run["status"], run["exit_code"]) == ("succeeded", 0)
    assert (run["tokens_in"], run["tokens_out"]) == (4400, 75)
    assert run["cost_usd"] == pytest.approx((4400 * 3 + 75 * 15) / 1e6)
    assert run["context_fill"] == pytest.approx(0.17)

    events = seedbed.log_events(shown["id"])
    calls = [e for e in events if e["kind"] == "tool_call"]
    assert [(c["name"], c["tool_kind"]) for c in calls] == [
        ("write_file", "edit"),
        ("run_command", "command"),
    ]
    assert calls[0]["arguments"] == {"path": "hello.txt", "content": "hello\n"}
    results = [e for e in events if e["kind"] == "tool_result"]
    assert "hello\nchecked" in results[1]["output"] and not results[1]["is_error"]
    assert all(r["duration_ms"] is not None for r in results)
    texts = [e["text"] for e in events if e["kind"] == "text" and not e["delta"]]
    assert texts == ["I will write the file.", "Done: hello.txt says hello."]
    assert len([e for e in events if e["kind"] == "usage"]) == 3

    posts = model_server.posts
    assert len(posts) == 3
    if provider == "openai":
        assert posts[0].path == "/v1/chat/completions"
        assert posts[0].headers["authorization"] == f"Bearer {KEY}"
    else:
        assert posts[0].path == "/v1/messages"
        assert posts[0].headers["x-api-key"] == KEY
    assert posts[0].body["stream"] is True
    assert {t.get("name") or t["function"]["name"] for t in posts[0].body["tools"]} == {
        "read_file", "write_file", "edit_file", "list_files", "search", "run_command",
        # Seedbed's own MCP server's (talkback/tools.py), but request_permission
        "seedbed__report_progress", "seedbed__list_tasks", "seedbed__task_status",
        "seedbed__create_task", "seedbed__ask_user",
    }  # fmt: skip
    system = (
        posts[0].body["messages"][0]["content"] if provider == "openai" else posts[0].body["system"]
    )
    assert "Say hello" in system and "README.md" in system and "src/" in system


def test_the_key_is_never_stored_or_printed(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    secret_service: Any,
    tmp_path: Path,
) -> None:
    """A real Secret Service holds the key; the model even tries to make it appear."""
    outputs: list[Result] = [seedbed.ok("key", "set", "openai", input=KEY + "\n")]
    builtin_profile(seedbed, "openai", model_server.openai_url, "--key-name", "openai")
    model_server.script(
        answer(
            f"Echoing what I was given: {KEY}",
            tool_calls=[("c1", "run_command", {"command": f"echo {KEY}; env | grep -i key"})],
        ),
        http_error(500, f"upstream said {KEY}"),
        answer(f"final words {KEY}"),
    )
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", "Leak", "--start").out
    outputs.append(seedbed.ok("run", "--until-idle"))
    assert model_server.posts[0].headers["authorization"] == f"Bearer {KEY}"
    for args in (
        ("task", "show", task_id.strip(), "--json"),
        ("task", "show", task_id.strip()),
        ("task", "log", task_id.strip()),
        ("task", "log", task_id.strip(), "--json"),
        ("task", "list", "--json"),
        ("task", "diff", task_id.strip()),
        ("profile", "list", "--json"),
        ("key", "list"),
        ("key", "list", "--json"),
    ):
        outputs.append(seedbed.ok(*args))
    shown = seedbed.show(task_id.strip())
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "ready"), shown["error"]
    assert "[redacted]" in seedbed.ok("task", "log", task_id.strip()).out
    for result in outputs:
        assert KEY not in result.out and KEY not in result.err
    Store.open(seedbed.data_dir).close()
    leaks = [
        path
        for path in tmp_path.rglob("*")
        if path.is_file() and not path.is_symlink() and KEY.encode() in path.read_bytes()
    ]
    assert leaks == []


def test_a_missing_key_fails_before_any_request(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, file_keyring: FileStore
) -> None:
    # A stand-in for Anthropic's API that names the provider's key (another host's key
    # would be named after that host).
    builtin_profile(
        seedbed, "anthropic", "https://api.anthropic.example", "--key-name", "anthropic"
    )
    shown = run_task(seedbed)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert "no API key 'anthropic'" in shown["error"]
    assert "seedbed key set anthropic" in shown["error"]
    assert "ANTHROPIC_API_KEY" in shown["error"]


def test_the_environment_variable_is_the_fallback(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    builtin_profile(seedbed, "anthropic", model_server.url, "--key-name", "anthropic")
    model_server.script(
        answer(tool_calls=[("c1", "run_command", {"command": "env"})]),
        answer("Nothing to do."),
    )
    shown = run_task(seedbed)
    assert shown["phase"] == "ready", shown["error"]
    assert model_server.posts[0].headers["x-api-key"] == KEY
    assert model_server.posts[0].headers["anthropic-version"] == "2023-06-01"
    # The agent's commands do not inherit the key, so the model never reads it back.
    assert "HOME=" in model_server.posts[1].raw.decode()
    assert KEY.encode() not in model_server.posts[1].raw


def test_a_local_server_needs_no_key_and_gets_none_by_default(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # the real OpenAI key stays at home
    builtin_profile(seedbed, "openai", model_server.openai_url)
    model_server.script(answer("Hello from a local model."))
    shown = run_task(seedbed)
    assert shown["phase"] == "ready", shown["error"]
    assert "authorization" not in model_server.posts[0].headers


def test_context_fill_warns_then_ends_the_run(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    builtin_profile(seedbed, "openai", model_server.openai_url, "--context-window", "1000")
    model_server.script(
        answer(tool_calls=[("c1", "write_file", {"path": "a.txt", "content": "a"})],
               usage=(650, 10)),
        answer(tool_calls=[("c2", "write_file", {"path": "b.txt", "content": "b"})],
               usage=(900, 10)),
        answer("never asked for"),
    )  # fmt: skip
    shown = run_task(seedbed)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["error"] == "context_full"
    assert shown["runs"][0]["context_fill"] == pytest.approx(0.9)
    assert model_server.pending == 1
    assert shown["diff"]["files"] == 2  # its work committed
    messages = [e.get("message", "") for e in seedbed.log_events(shown["id"])]
    assert any("context 65% full (warning at 60%)" in m for m in messages)


def test_max_turns_ends_a_run_that_never_finishes(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    builtin_profile(seedbed, "anthropic", model_server.url, "--max-turns", "2")
    model_server.script(
        *[answer(tool_calls=[(f"c{n}", "list_files", {})]) for n in range(3)],
    )
    shown = run_task(seedbed)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert shown["error"].startswith("max_turns")
    assert len(model_server.posts) == 2


def test_retries_are_visible_and_a_dead_server_fails_clearly(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    builtin_profile(seedbed, "openai", model_server.openai_url, "--max-tries", "2")
    model_server.script(
        http_error(429, "slow down", headers={"retry-after": "0"}),
        answer("Recovered."),
        http_error(503, "down"),
        http_error(503, "still down"),
    )
    first = run_task(seedbed, "Recover")
    assert first["phase"] == "ready", first["error"]
    assert any(e.get("phase") == "retrying" for e in seedbed.log_events(first["id"]))
    second = run_task(seedbed, "Give up")
    assert (second["state"], second["phase"]) == ("awaiting_review", "agent_failed")
    assert "503" in second["error"]


def test_a_follow_up_continues_the_conversation(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    builtin_profile(seedbed, "anthropic", model_server.url)
    model_server.script(
        answer(tool_calls=[("c1", "write_file", {"path": "a.txt", "content": "A\n"})]),
        answer("Wrote a.txt."),
        answer(tool_calls=[("c2", "write_file", {"path": "b.txt", "content": "B\n"})]),
        answer("Added b.txt too."),
    )
    shown = run_task(seedbed, "Letters")
    seedbed.ok("task", "request-changes", str(shown["id"]), "--message", "Also write b.txt")
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(shown["id"])
    assert (shown["phase"], [r["kind"] for r in shown["runs"]]) == ("ready", ["implement", "fix"])
    assert shown["diff"]["files"] == 2
    messages = model_server.posts[2].body["messages"]
    flat = json.dumps(messages)
    assert "Wrote a.txt." in flat and "Also write b.txt" in flat
    assert messages[-1]["role"] == "user"
    assert "Also write b.txt" in json.dumps(messages[-1])
    assert messages[0]["role"] == "user" and "Carry out the task" in json.dumps(messages[0])


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.mark.parametrize("where", ["stream", "command"])
def test_stop_is_immediate(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, where: str
) -> None:
    builtin_profile(seedbed, "openai", model_server.openai_url)
    if where == "stream":
        model_server.script(hang(60))
    else:
        model_server.script(
            answer(tool_calls=[("c1", "run_command", {"command": "echo working; sleep 600"})])
        )
    engine = seedbed.spawn("run")
    try:
        task_id = int(seedbed.ok("task", "add", "--project", "demo", "--title", "Hang",
                                 "--start").out)  # fmt: skip
        wait_for(lambda: len(model_server.posts) == 1)
        time.sleep(0.3)
        started = time.monotonic()
        seedbed.ok("task", "stop", str(task_id))
        assert time.monotonic() - started < 3
        shown = seedbed.show(task_id)
        assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
        assert shown["runs"][0]["status"] == "stopped"
    finally:
        engine.terminate()
        engine.communicate(timeout=30)
    if where == "command":
        # Its own run's processes, by their marker: another test's `sleep 600` may run.
        run_id = shown["runs"][0]["id"]
        assert not processes_of_run(seedbed.data_dir, run_id)
    assert git(Path(shown["worktree"]), "status", "--porcelain") == ""


def test_a_key_is_not_sent_unencrypted_to_another_machine(
    seedbed: SeedbedCli, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    # It names the OpenAI key: without that, a key for this host would be looked for.
    builtin_profile(seedbed, "openai", "http://models.example.invalid/v1", "--key-name", "openai")
    shown = run_task(seedbed)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "agent_failed")
    assert "unencrypted" in shown["error"] and KEY not in shown["error"]


def test_a_keyring_that_cannot_be_read_is_named_in_the_error(
    seedbed: SeedbedCli, project: str
) -> None:
    """No backend at all (the test default): the error says so, not just 'no key'."""
    builtin_profile(
        seedbed, "anthropic", "https://api.anthropic.example", "--key-name", "anthropic"
    )
    shown = run_task(seedbed)
    assert "no API key 'anthropic'" in shown["error"]
    assert "keyring could not be read" in shown["error"]
    assert "no keyring backend is available" in shown["error"]


def test_a_key_pasted_as_the_key_name_is_refused(seedbed: SeedbedCli) -> None:
    result = seedbed(
        "profile", "add", "p", "--kind", "builtin", "--provider", "openai",
        "--model", "m", "--key-name", KEY,
    )  # fmt: skip
    assert result.code == 2 and result.err.startswith("error: ")
    assert KEY not in result.err
    assert KEY not in seedbed.ok("profile", "list", "--json").out


def test_a_key_split_across_streamed_pieces_is_still_scrubbed(
    seedbed: SeedbedCli,
    project: str,
    model_server: ModelServer,
    file_keyring: FileStore,
) -> None:
    seedbed.ok("key", "set", "openai", input=KEY)
    builtin_profile(seedbed, "openai", model_server.openai_url, "--key-name", "openai")
    cut = 12
    model_server.script(answer(["x" * 195 + KEY[:cut], KEY[cut:] + " and more text"]))
    shown = run_task(seedbed)
    assert shown["phase"] == "ready", shown["error"]
    store = Store.open(seedbed.data_dir)
    [run] = store.list_runs(shown["id"])
    events = [json.loads(data) for _seq, data in store.read_events(run.id)]
    pieces = [e["text"] for e in events if e["kind"] == "text" and e["delta"]]
    assert len(pieces) >= 2
    assert KEY not in "".join(pieces)
    assert "[redacted] and more text" in "".join(pieces)


def test_setup_output_is_scrubbed_of_keys_too(
    seedbed: SeedbedCli, repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    # Children get no key from the engine's environment (issue 15): these find it in a file.
    (tmp_path / "leaked").write_text(KEY)
    show = f"echo key=$(cat {tmp_path / 'leaked'})"
    seedbed.ok("project", "add", str(repo), "--name", "demo",
               "--setup", show, "--check", show)  # fmt: skip
    # A change, so that the checks run (a run that changes nothing skips them).
    agent = f"{show}; echo x > x.txt"
    seedbed.ok("profile", "add", "c", "--kind", "command", "--command", agent)
    shown = run_task(seedbed)
    log = seedbed.ok("task", "log", str(shown["id"])).out
    assert "[setup] key=[redacted]" in log
    assert "\nkey=[redacted]" in log
    assert "[check] key=[redacted]" in log
    assert KEY not in log and KEY not in json.dumps(shown)


def test_a_follow_up_after_a_full_context_starts_afresh(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    builtin_profile(seedbed, "openai", model_server.openai_url, "--context-window", "1000")
    model_server.script(
        answer(tool_calls=[("c1", "write_file", {"path": "a.txt", "content": "A"})],
               usage=(900, 10)),
        answer("Finished.", usage=(100, 10)),
    )  # fmt: skip
    shown = run_task(seedbed, "Big")
    assert shown["error"] == "context_full"
    seedbed.ok("task", "request-changes", str(shown["id"]), "--message", "Finish it")
    seedbed.ok("run", "--until-idle")
    shown = seedbed.show(shown["id"])
    assert shown["phase"] == "ready", shown["error"]
    messages = model_server.posts[1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "filled the model's context" in messages[1]["content"]
    assert messages[1]["content"].endswith("Finish it")


def test_the_token_budget_ends_a_run(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    builtin_profile(seedbed, "anthropic", model_server.url, "--token-budget", "500")
    model_server.script(
        answer(tool_calls=[("c1", "list_files", {})], usage=(300, 50)),
        answer(tool_calls=[("c2", "list_files", {})], usage=(400, 50)),
        answer("never asked for"),
    )
    shown = run_task(seedbed)
    assert shown["phase"] == "agent_failed"
    assert re.fullmatch(r"token budget of \d+ reached", shown["error"]), shown["error"]
    assert len(model_server.posts) == 2


def test_agents_md_and_the_listing_reach_the_system_prompt(
    seedbed: SeedbedCli, repo: Path, model_server: ModelServer
) -> None:
    (repo / "AGENTS.md").write_text("Always run `make lint` before you finish.\n")
    (repo / ".gitignore").write_text("build/\n")
    (repo / "build").mkdir()
    (repo / "build" / "junk.o").write_text("x")
    git(repo, "add", "AGENTS.md", ".gitignore")
    git(repo, "commit", "-q", "-m", "agents")
    seedbed.ok("project", "add", str(repo), "--name", "demo")
    builtin_profile(seedbed, "anthropic", model_server.url)
    model_server.script(answer("ok"))
    run_task(seedbed, "Lint", "--prompt", "Tidy the imports")
    system = model_server.posts[0].body["system"]
    assert "Always run `make lint` before you finish." in system
    assert "Tidy the imports" in system and "Lint" in system
    assert "AGENTS.md" in system and "src/" in system and "build/" not in system


def test_a_written_plan_reaches_the_agent(
    seedbed: SeedbedCli, project: str, model_server: ModelServer, tmp_path: Path
) -> None:
    builtin_profile(seedbed, "anthropic", model_server.url)
    model_server.script(answer("ok"))
    task_id = seedbed.ok("task", "add", "--project", "demo", "--title", "Planned work").out
    plan = tmp_path / "plan.md"
    plan.write_text("# Plan\n\n1. Rename `foo` to `bar` in src/.\n2. Keep the tests green.\n")
    shown = seedbed.ok("task", "plan", task_id.strip(), "--edit", str(plan), "--json").json()
    assert shown["plan"] == plan.read_text()
    assert seedbed.ok("task", "plan", task_id.strip()).out == plan.read_text()
    seedbed.ok("task", "start", task_id.strip())
    seedbed.ok("run", "--until-idle")
    system = model_server.posts[0].body["system"]
    assert "1. Rename `foo` to `bar` in src/." in system and "Keep the tests green." in system


def test_commands_of_a_crashed_engine_are_killed_at_restart(
    seedbed: SeedbedCli, project: str, model_server: ModelServer
) -> None:
    builtin_profile(seedbed, "openai", model_server.openai_url)
    model_server.script(
        answer(tool_calls=[("c1", "run_command", {"command": "echo x > w.txt; sleep 613"})])
    )
    engine = seedbed.spawn("run")
    try:
        task_id = int(seedbed.ok("task", "add", "--project", "demo", "--title", "Crash",
                                 "--start").out)  # fmt: skip
        wait_for(lambda: "sleep 613" in ps())
        engine.kill()
    finally:
        engine.communicate(timeout=30)
    assert "sleep 613" in ps()  # an orphan, until the next engine starts
    seedbed.ok("run", "--until-idle")
    wait_for(lambda: "sleep 613" not in ps(), timeout=5)
    shown = seedbed.show(task_id)
    assert (shown["state"], shown["phase"]) == ("awaiting_review", "interrupted")
    assert (Path(shown["worktree"]) / "w.txt").exists() and shown["diff"]["files"] == 1


def ps() -> str:
    return subprocess.run(["ps", "-eo", "stat,args"], capture_output=True, text=True).stdout
