"""Verbs made from plain typed functions: params from the signature, results checked,
and a call written as `verb(ctx, …)` sent over a real socket as the same call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from seedbed.api.functions import function_verb, register_functions
from seedbed.api.protocol import NoParams
from seedbed.api.registry import Registry
from seedbed.api.server import ApiServer
from seedbed.api.sync_client import SyncClient
from seedbed.domain.errors import UserError
from seedbed.domain.models import Task, TaskState
from tests.api.conftest import LoopThread


class Budget(BaseModel):
    tokens: int = Field(default=0, ge=0)


def rename(ctx: dict[str, Task], task_id: int, title: str, budget: Budget | None = None) -> Task:
    task = ctx[str(task_id)]
    if not title:
        raise UserError("the task title is empty")
    ctx[str(task_id)] = task.model_copy(update={"title": title})
    return ctx[str(task_id)]


def states(
    ctx: Any, after: tuple[int, ...] = (), state: TaskState = TaskState.PLANNED
) -> list[str]:
    return [f"{n}:{state.value}" for n in after]


def untyped(ctx, task_id):  # type: ignore[no-untyped-def]
    return task_id


def test_the_params_are_the_signature_without_the_context() -> None:
    verb = function_verb("tasks.rename", rename)
    assert list(verb.params.model_fields) == ["task_id", "title", "budget"]
    params = verb.bind(7, title="new", budget=Budget(tokens=3))
    assert params.model_dump() == {"task_id": 7, "title": "new", "budget": {"tokens": 3}}
    assert verb.bind(7, "x").model_dump()["budget"] is None  # the function's default
    with pytest.raises(TypeError):
        verb.bind(7)  # title is missing, as the function itself would say
    with pytest.raises(ValidationError):
        verb.bind("seven", "x")
    with pytest.raises(ValidationError):
        verb.bind(7, "x", budget={"tokens": -1})  # the model's own bound


def test_a_function_that_cannot_be_sent_is_refused() -> None:
    with pytest.raises(TypeError, match="has no annotation"):
        function_verb("untyped", untyped)


def test_function_verbs_over_a_real_socket(tmp_path: Path) -> None:
    tasks = {"1": Task(id=1, project_id=1, title="old")}
    registry = Registry()
    register_functions(registry, {"tasks.rename": rename, "tasks.states": states}, lambda: tasks)
    loop = LoopThread()
    server = ApiServer(registry, tmp_path)
    try:
        loop.run(server.serve_unix())
        verb = function_verb("tasks.rename", rename)
        with SyncClient.connect(tmp_path) as client:
            params = verb.bind(1, "new title")
            renamed = client.call("tasks.rename", params, verb.result_type)
            assert isinstance(renamed, Task) and renamed.title == "new title"
            assert tasks["1"].title == "new title"  # it ran in the engine, on its context
            with pytest.raises(UserError, match="the task title is empty"):
                client.call("tasks.rename", verb.bind(1, ""), verb.result_type)
            listed = function_verb("tasks.states", states)
            answer = client.call("tasks.states", listed.bind(after=(2, 3)), listed.result_type)
            assert answer == ["2:planned", "3:planned"]
    finally:
        loop.run(server.close())
        loop.stop()


def test_on_result_sees_each_value_before_it_is_sent(tmp_path: Path) -> None:
    tasks = {"1": Task(id=1, project_id=1, title="old")}
    seen: list[Any] = []
    registry = Registry()
    register_functions(registry, {"tasks.rename": rename}, lambda: tasks, seen.append)
    loop = LoopThread()
    server = ApiServer(registry, tmp_path)
    try:
        loop.run(server.serve_unix())
        with SyncClient.connect(tmp_path) as client:
            answer = client.call("tasks.rename", {"task_id": 1, "title": "new"}, Task)
            assert seen == [answer]
            with pytest.raises(UserError):
                client.call("tasks.rename", {"task_id": 1, "title": ""})
            assert seen == [answer]  # a verb that raised returned nothing to see
    finally:
        loop.run(server.close())
        loop.stop()


def test_a_verb_added_for_later_is_built_when_first_asked_for() -> None:
    registry = Registry()
    built: list[str] = []

    def add() -> None:
        built.append("echo.one")
        registry.add("echo.one", NoParams, int, lambda _params: 1)

    registry.add_later("echo.one", add)
    assert "echo.one" in registry and list(registry) == ["echo.one"]
    assert built == []  # taken, not built
    with pytest.raises(ValueError, match="already taken"):
        registry.add("echo.one", NoParams, int, lambda _params: 2)
    verb = registry.get("echo.one")
    assert verb is not None and verb.name == "echo.one"
    assert registry.get("echo.one") is verb and built == ["echo.one"]  # built once
