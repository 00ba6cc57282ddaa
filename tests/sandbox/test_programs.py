"""A program installed in the home runs in a sandbox that hides the home: its install
root and its interpreter's are bound back, read-only, and nothing else of the home."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

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
