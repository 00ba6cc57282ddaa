"""Automatic fix rounds: when the project's checks fail after a run, the failing output
goes back to the agent as a follow-up, up to the project's number of rounds, before the
task waits for review (Qt-free, pure). Whether a round is due is part of the end of a
run: engine/run_end.py."""

from __future__ import annotations

from seedbed.domain.models import CheckResult, Project

FIX_TAIL_CHARS = 6000  # of the checks' output, the end (where the failures are)


def fix_prompt(project: Project, checks: CheckResult, number: int) -> str:
    """The follow-up of fix round `number` (1-based): what failed and how."""
    output = checks.output_tail[-FIX_TAIL_CHARS:].rstrip() or "(no output)"
    code = f"exit {checks.exit_code}" if checks.exit_code is not None else "no exit code"
    return (
        f"The project's checks failed after your last change (`{project.check_command}`, "
        f"{code}). Fix the code so that they pass; do not weaken, skip or delete the "
        "checks. The end of their output:\n\n"
        f"```\n{output}\n```\n\n"
        f"(Automatic fix round {number} of {project.fix_rounds}.)"
    )
