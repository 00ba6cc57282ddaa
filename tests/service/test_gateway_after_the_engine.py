"""A command whose engine ends between two of its calls (an engine run --until-idle going
idle while `task log --follow` reads): its reads go on in its own process, its writes
say they may not have been done."""

from __future__ import annotations

import pytest

from seedbed.cli.gateway import Gateway
from seedbed.core import reads, tasks
from seedbed.domain.errors import UserError
from tests.conftest import SeedbedCli
from tests.service.conftest import Engines


def test_reads_go_on_here_when_the_engine_has_gone(
    seedbed: SeedbedCli, project: str, engines: Engines
) -> None:
    seedbed.ok("task", "add", "--project", project, "--title", "First")
    engines.start()
    gateway = Gateway(seedbed.data_dir, note=lambda _line: None)
    assert [t.title for t in gateway.call(reads.list_tasks)] == ["First"]
    assert gateway.engine is not None  # asked of the engine

    engines.command("engine", "stop")
    assert engines.wait_gone()

    assert [t.title for t in gateway.call(reads.list_tasks)] == ["First"]  # read here
    assert gateway.engine is None


def test_a_write_is_not_done_twice_when_the_engine_has_gone(
    seedbed: SeedbedCli, project: str, engines: Engines
) -> None:
    task_id = int(seedbed.ok("task", "add", "--project", project, "--title", "First").out)
    engines.start()
    gateway = Gateway(seedbed.data_dir, note=lambda _line: None)
    gateway.call(reads.list_tasks)
    engines.command("engine", "stop")
    assert engines.wait_gone()

    with pytest.raises(UserError, match="may not have been done"):
        gateway.call(tasks.start_task, task_id)
