"""Which checks count: one rule for the card, the reviewer, `task show` and approve."""

from __future__ import annotations

import hashlib

from seedbed.domain.models import CheckResult, CheckStatus, Project, Run, RunKind


def standing_checks(runs: list[Run]) -> Run | None:
    """The latest run whose checks ran (None: none did)."""
    return next((r for r in reversed(runs) if r.checks.status is not CheckStatus.NONE), None)


def shown_checks(runs: list[Run]) -> CheckResult:
    """What the task's checks say now: the latest run's, unless that is a merge run that
    checked nothing (no check command, a re-check skipped), which leaves the checks
    before it standing. store/board.py's card query says the same in SQL."""
    if not runs:
        return CheckResult()
    last = runs[-1]
    if last.kind is RunKind.MERGE and last.checks.status is CheckStatus.NONE:
        standing = standing_checks(runs)
        return standing.checks if standing is not None else CheckResult()
    return last.checks


def commands_key(project: Project) -> str:
    """What the checks' result depends on besides the tree: the setup and check commands
    and the files copied in. A pass under other commands is no pass now."""
    text = "\0".join([project.setup_command, project.check_command, *project.copy_globs])
    return hashlib.sha256(text.encode()).hexdigest()[:16]
