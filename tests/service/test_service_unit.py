"""`seedbed --install-service`: the systemd user unit it writes starts a real engine."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from seedbed.cli.service_unit import quote, unit_name
from seedbed.service.launch import answering


def exec_start(unit: str) -> tuple[list[str], dict[str, str]]:
    """ExecStart's argv and the Environment= of a unit, read as systemd reads these lines
    (no specifier left: `%%` is `%`, `$$` is `$`)."""
    command = re.search(r"^ExecStart=(.*)$", unit, re.M)
    assert command is not None
    argv = [a.replace("%%", "%").replace("$$", "$") for a in shlex.split(command.group(1))]
    env = dict(line.split("=", 2)[1:] for line in re.findall(r"^Environment=.*$", unit, re.M))
    return argv, env


def test_the_unit_runs_the_engine_of_its_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "odd $HOME dir 100%"
    config = tmp_path / "config"
    written = subprocess.run(
        [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir), "--install-service"],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_CONFIG_HOME": str(config)},
        check=True,
        timeout=30,
    ).stdout.splitlines()
    unit_path = Path(written[0])
    assert unit_path.parent == config / "systemd" / "user"
    assert unit_path.name == unit_name(data_dir) != "seedbed-engine.service"
    assert f"systemctl --user enable --now {unit_path.name}" in written[1]
    argv, env = exec_start(unit_path.read_text())
    assert argv[-4:] == ["--data-dir", str(data_dir.resolve()), "engine", "serve"]
    assert env == {
        "SEEDBED_ENGINE_IDLE_EXIT_SECONDS": "0",  # systemd decides its life
        "SEEDBED_READY_WINDOW": "0",  # its forks would die with the unit (ready_server.py)
    }
    log = tmp_path / "engine.log"
    with log.open("wb") as output:
        engine = subprocess.Popen(argv, env={**os.environ, **env}, stdout=output, stderr=output)
    try:
        for _ in range(100):
            hello = answering(data_dir)
            if hello is not None:
                break
            assert engine.poll() is None, log.read_text()
            time.sleep(0.1)
        assert hello is not None and hello.pid == engine.pid
        engine.send_signal(signal.SIGTERM)  # what `systemctl --user stop` sends
        assert engine.wait(30) == 0
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.wait()


def test_exec_start_arguments_are_quoted_for_systemd() -> None:
    assert quote("/usr/bin/seedbed") == "/usr/bin/seedbed"
    assert quote("/a b/%i $X") == '"/a b/%%i $$X"'
    assert quote('say "hi"\\') == '"say \\"hi\\"\\\\"'
