"""The checks' line of the reviewer: short enough for its row, the base's move included."""

from __future__ import annotations

from seedbed.domain.models import CheckResult, CheckStatus
from seedbed.ui.review.check_output import check_status


def test_the_checks_line_says_how_far_the_base_moved_in_the_cards_words() -> None:
    passed = CheckResult(status=CheckStatus.PASSED, exit_code=0)
    assert check_status(passed) == "Checks: passed (exit 0)"
    assert check_status(passed, 3, "main") == "Checks: passed (exit 0) · main +3"
    assert check_status(CheckResult(), 3, "main") == "Checks: none configured or not run."
