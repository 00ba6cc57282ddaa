"""The reviewer's layout holds with real check output and long names: a test runner's
line of progress dots, a long title, path or error never widens the window; the diff
gets most of the width, a header names the file shown, and the decision sits in one bar."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from seedbed.domain.models import CheckResult, CheckStatus
from seedbed.ui.common.context import AppContext
from seedbed.ui.review.check_output import CheckOutput
from seedbed.ui.review.reviewer import ReviewWindow
from tests.conftest import SeedbedCli
from tests.ui.test_reviewer import open_reviewer, run_task

DOTS = "." * 3000  # unittest's and pytest -q's progress: one line
CHECK = f"python3 -c \"print('{'.' * 10}' * 300)\""
LONG_DIR = "a_directory_with_a_name_long_enough_to_need_eliding_" * 3
AGENT = (
    f"mkdir -p {LONG_DIR} && printf 'x = 1\\n' > {LONG_DIR}/module.py"
    " && printf 'def f():\\n    return 2\\n' > short.py"
)
SIZE = (1400, 850)


@pytest.fixture
def dotted(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    repo: Path,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> tuple[ReviewWindow, int]:
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--check", CHECK)
    command_profile("tidy", AGENT)
    task_id = run_task(seedbed, app_context, qtbot, "tidy")
    assert app_context.store.list_runs(task_id)[-1].checks.output_tail.strip() == DOTS
    return open_reviewer(qtbot, app_context, task_id), task_id


def right_edge(widget: QWidget, window: QWidget) -> int:
    return widget.mapTo(window, QPoint(widget.width(), 0)).x()


def settle(window: ReviewWindow) -> None:
    window.resize(*SIZE)
    for _ in range(3):
        QApplication.processEvents()


def test_a_line_of_progress_dots_does_not_widen_the_window(
    dotted: tuple[ReviewWindow, int],
) -> None:
    window, _task_id = dotted
    settle(window)
    assert window.minimumSizeHint().width() <= SIZE[0]
    assert window.width() == SIZE[0]
    # The dots are all there, in a box that scrolls sideways.
    checks = window.side.checks
    assert checks.output.toPlainText() == DOTS
    assert checks.output.horizontalScrollBar().maximum() > 0
    assert checks.status.full_text() == "Checks: passed (exit 0)"
    # The diff gets most of the width; every decision button is on screen.
    assert window.diff.width() >= 0.55 * window.width()
    decision = window.decision
    for button in (window.approve_button, window.request_button, window.discard_button):
        assert button.isVisible() and right_edge(button, window) <= window.width()
    assert right_edge(decision.more_button, window) <= window.width()
    assert right_edge(window.strategy, window) <= right_edge(window.request_button, window)


def test_no_text_in_the_reviewer_widens_it(
    qtbot: QtBot, dotted: tuple[ReviewWindow, int], app_context: AppContext
) -> None:
    window, task_id = dotted
    settle(window)
    long_file = next(f for f in window.files.model.files() if f.path.startswith(LONG_DIR))
    window.files.select_row(window.files.model.row_of(long_file.path))
    title = "Make-the-title-long-" * 20
    app_context.store.update_task(task_id, title=title)
    window.reload()
    qtbot.waitUntil(lambda: window.data is not None and window.data.task.title == title)
    unbroken = "/tmp/" + "x" * 2000
    window.error_label.show_message(f"cannot write {unbroken}")
    window.status_label.setText(unbroken)
    window.decision.conflict_label.show_message(unbroken)
    window.side.notes.setText(unbroken)
    window.side.notes.show()
    settle(window)
    assert window.minimumSizeHint().width() < 1000
    assert window.width() == SIZE[0]
    assert window.diff.width() >= 0.55 * window.width()
    assert window.diff.file_header.full_text().startswith(f"{long_file.path}  ·  added")
    assert window.header.full_text().startswith(title)
    assert right_edge(window.decision.more_button, window) <= window.width()


def test_the_screenshot_of_the_reviewer_is_as_wide_as_asked(
    dotted: tuple[ReviewWindow, int], data_dir: Path, tmp_path: Path
) -> None:
    _window, task_id = dotted
    target = tmp_path / "review.png"
    result = subprocess.run(
        [
            sys.executable, "-m", "seedbed", "--data-dir", str(data_dir), "gui",
            "--screenshot", str(target), "--select", str(task_id),
            "--size", "1400x850", "--view", "review",
        ],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    image = QImage(str(target))
    assert (image.width(), image.height()) == SIZE


def test_the_header_names_the_file_and_follows_the_filter(
    dotted: tuple[ReviewWindow, int],
) -> None:
    window, _task_id = dotted
    files = window.files
    files.select_row(files.model.row_of("short.py"))
    header = window.diff.file_header
    assert header.full_text() == "short.py  ·  added  ·  +2 \u22120"
    files.filter_box.setText("short")  # still shown: it stays
    assert window.diff.file is not None and window.diff.file.path == "short.py"
    files.filter_box.setText("module")  # short.py is filtered out: the pane clears
    assert window.diff.file is None
    assert header.full_text() == "No file selected"
    assert window.diff.placeholder_label.text() == "No file selected."
    files.step(1)  # the first file shown
    assert window.diff.file is not None and window.diff.file.path.endswith("/module.py")
    assert header.full_text().startswith(window.diff.file.path)
    files.select_row(files.model.row_of("short.py"))  # filtered out: nothing to select
    files.filter_box.clear()
    assert window.diff.file is not None and window.diff.file.path.endswith("/module.py")


def test_long_check_output_shows_its_first_and_last_lines_until_shown_all(
    qtbot: QtBot,
) -> None:
    box = CheckOutput()
    qtbot.addWidget(box)
    box.resize(340, 400)
    box.show()
    output = "\n".join([DOTS, *(f"FAIL: test_{n}" for n in range(30)), "FAILED (failures=30)"])
    box.show_checks(CheckResult(status=CheckStatus.FAILED, exit_code=1, output_tail=output))
    assert box.status.full_text() == "Checks: failed (exit 1)"
    shown = box.output.toPlainText().splitlines()
    assert shown[:3] == [DOTS, "FAIL: test_0", "FAIL: test_1"]
    assert shown[3] == "⋯ 21 more lines ⋯"
    assert shown[4:] == [*(f"FAIL: test_{n}" for n in range(23, 30)), "FAILED (failures=30)"]
    assert box.show_all.isVisible() and box.output.verticalScrollBar().maximum() == 0
    box.show_all.click()
    assert box.output.toPlainText() == output and box.show_all.text() == "Fold"
    box.show_all.click()
    assert box.output.toPlainText().splitlines()[3] == "⋯ 21 more lines ⋯"
    box.show_checks(CheckResult(status=CheckStatus.PASSED, exit_code=0, output_tail="OK\n"))
    assert box.output.toPlainText() == "OK" and box.show_all.isHidden()
    box.show_checks(CheckResult())
    assert box.output.isHidden()
    assert box.status.full_text() == "Checks: none configured or not run."
