"""A program installed in the home runs in a sandbox that hides the home: its install
root and its interpreter's are bound back, read-only, and nothing else of the home."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import seedbed
from seedbed.agents.process import ManagedProcess, ProcessSpec
from seedbed.sandbox.bwrap import sandbox_support
from seedbed.sandbox.plan import Bind, SandboxPlan
from seedbed.sandbox.programs import install_roots, program_binds

pytestmark = pytest.mark.skipif(
    not sandbox_support().works, reason=f"no sandbox here: {sandbox_support().problem}"
)


def run(argv: list[str], plan: SandboxPlan) -> tuple[int | None, str]:
    async def go() -> tuple[int | None, str]:
        process = await ManagedProcess.start(
            ProcessSpec(argv=argv, cwd=plan.cwd, env={"PATH": "/usr/bin:/bin"}, sandbox=plan)
        )
        lines = [text async for batch in process.batches() for _s, text, _c in batch]
        return process.exit_code, "\n".join(lines)

    return asyncio.run(go())


def test_a_tool_in_a_hidden_home_runs_with_its_roots_bound(tmp_path: Path) -> None:
    home = tmp_path / "home"
    venv = home / ".local" / "tools" / "hello"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    program = venv / "bin" / "hello"
    program.write_text(f"#!{venv}/bin/python\nimport sys\nprint('hello from', sys.prefix)\n")
    program.chmod(0o755)
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_ed25519").write_text("SECRET\n")
    work = tmp_path / "work"
    work.mkdir()

    assert install_roots(str(program))[0] == venv
    binds = program_binds([str(program)], [home])
    assert sources(binds)[0] == venv and all(not b.writable for b in binds)

    here = Bind(source=work, target=work, writable=True)  # /tmp is the sandbox's own
    hidden = SandboxPlan(cwd=work, hidden=[home], binds=[here])
    code, _said = run([str(program)], hidden)
    assert code != 0  # hidden, it cannot run

    bound = SandboxPlan(cwd=work, hidden=[home], binds=[*binds, here])
    code, said = run([str(program)], bound)
    assert (code, said) == (0, f"hello from {venv}")
    code, _said = run(["cat", str(home / ".ssh" / "id_ed25519")], bound)
    assert code != 0  # the rest of the home stays hidden


def sources(binds: list[Bind]) -> list[Path]:
    return [bind.source for bind in binds]


def test_a_tool_under_tmp_runs_in_the_sandboxs_fresh_tmp(tmp_path: Path) -> None:
    assert tmp_path.is_relative_to("/tmp")  # the sandbox's /tmp is its own, empty
    program = tmp_path / "tool" / "bin" / "hello"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\necho hello\n")
    program.chmod(0o755)
    (tmp_path / "other.txt").write_text("not the tool's\n")
    work = tmp_path / "work"
    work.mkdir()

    binds = program_binds([str(program)], [])
    assert sources(binds) == [tmp_path / "tool"] and all(not b.writable for b in binds)
    here = Bind(source=work, target=work, writable=True)
    code, said = run([str(program)], SandboxPlan(cwd=work, binds=[*binds, here]))
    assert (code, said) == (0, "hello")
    code, _said = run(["cat", str(tmp_path / "other.txt")], SandboxPlan(cwd=work, binds=[here]))
    assert code != 0  # the rest of /tmp stays unseen


def test_the_relay_runs_from_a_python_and_a_seedbed_under_tmp(tmp_path: Path) -> None:
    """Seedbed run from a checkout under /tmp: its Python, its environment and its package
    are bound into the sandbox's fresh /tmp, so its relay (network `model`) starts."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    package = Path(seedbed.__file__).parent
    shutil.copytree(
        package, tmp_path / "desktop" / "seedbed", ignore=shutil.ignore_patterns("__pycache__")
    )
    site = next(venv.glob("lib/python*/site-packages"))
    # Seedbed's own copy first, then the dependencies of the environment running this.
    deps = [path for path in map(Path, sys.path) if path.name == "site-packages"]
    (site / "seedbed.pth").write_text("\n".join(map(str, [tmp_path / "desktop", *deps])) + "\n")
    work = tmp_path / "work"
    proxy = tmp_path / "proxy"
    work.mkdir()
    proxy.mkdir()
    script = (
        "import subprocess, sys\n"
        "import seedbed\n"
        f"assert seedbed.__file__.startswith({str(tmp_path)!r}), seedbed.__file__\n"
        "from pathlib import Path\n"
        "from seedbed.domain.models import SandboxNetwork\n"
        "from seedbed.sandbox.bwrap import bwrap_argv, find_bwrap\n"
        "from seedbed.sandbox.plan import Bind, SandboxPlan\n"
        "from seedbed.sandbox.policy import relay_binds\n"
        f"work = Path({str(work)!r})\n"
        "plan = SandboxPlan(\n"
        "    cwd=work, binds=[Bind(source=work, target=work, writable=True)],\n"
        f"    network=SandboxNetwork.MODEL, proxy_dir=Path({str(proxy)!r}),\n"
        "    relay_binds=relay_binds([]),\n"
        ")\n"
        "argv = bwrap_argv(find_bwrap(), plan, ['sh', '-c', 'echo behind the relay'])\n"
        "sys.exit(subprocess.run(argv).returncode)\n"
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert (done.returncode, done.stdout) == (0, "behind the relay\n"), done.stderr
