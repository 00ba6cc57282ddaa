"""A command whose engine ends between two of its calls (an engine run --until-idle going
idle while `task log --follow` reads): it hears EngineGone, one sentence, and a command
that can go on without it (a follower whose run has ended) reads here from then on."""

from __future__ import annotations

import pytest

from seedbed.cli.gateway import EngineGone, Gateway
from seedbed.core import reads, tasks
from tests.conftest import SeedbedCli
from tests.service.conftest import Engines


def test_after_the_engine_has_gone_the_verbs_can_stay_here(
    seedbed: SeedbedCli, project: str, engines: Engines
) -> None:
    task_id = int(seedbed.ok("task", "add", "--project", project, "--title", "First").out)
    engines.start()
    gateway = Gateway(seedbed.data_dir, note=lambda _line: None)
    assert [t.title for t in gateway.call(reads.list_tasks)] == ["First"]
    assert gateway.engine is not None  # asked of the engine

    engines.command("engine", "stop")
    assert engines.wait_gone()

    with pytest.raises(EngineGone, match="may not have been done"):
        gateway.call(tasks.start_task, task_id)  # a write is never done twice
    assert gateway.stay_here()
    assert [t.title for t in gateway.call(reads.list_tasks)] == ["First"]  # read here
    assert gateway.engine is None


def test_a_forwarded_engine_has_nothing_here_to_stay_with(
    seedbed: SeedbedCli, project: str, engines: Engines
) -> None:
    engines.start()
    socket = str(seedbed.data_dir / "engine.sock")
    gateway = Gateway(seedbed.data_dir, engine_socket=socket, note=lambda _line: None)
    gateway.call(reads.list_tasks)
    assert not gateway.stay_here()
