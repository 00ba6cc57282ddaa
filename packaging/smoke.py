"""Smoke-test a built bundle: `python packaging/smoke.py dist/seedbed/seedbed`.

The bundle must say its version, report on this machine (`doctor`), render the window
offscreen with `gui --screenshot` from a fresh data dir (the PNG is checked: a real
image of the asked size, not blank), and install a launcher entry that starts it."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("the screenshot is not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def distinct_colours(png: Path) -> int:
    """Colours on a grid of the image's pixels: a blank window has one or two."""
    from PySide6.QtGui import QImage

    image = QImage(str(png))
    return len(
        {image.pixel(x, y) for x in range(0, image.width(), 9) for y in range(0, image.height(), 9)}
    )


def main(binary: str) -> int:
    exe = Path(binary).resolve()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    print(version.stdout.strip())
    with tempfile.TemporaryDirectory() as tmp:
        # doctor starts Qt through the program itself (`gui --probe`): in a bundle that
        # is the bundle, not a Python.
        report = subprocess.run(
            [exe, "--data-dir", str(Path(tmp) / "data"), "doctor"],
            env=env, check=True, timeout=120, capture_output=True, text=True,
        ).stdout  # fmt: skip
        print(report, end="")
        if "Qt platform    ok  offscreen starts" not in report.splitlines():
            raise SystemExit("doctor did not start Qt's platform plugin")
        # On a real X server (Xvfb, where there is one): the xcb plugin and the system
        # libraries it needs.
        if shutil.which("xvfb-run"):
            on_x = {k: v for k, v in env.items() if k != "QT_QPA_PLATFORM"}
            report = subprocess.run(
                ["xvfb-run", "-a", exe, "--data-dir", str(Path(tmp) / "data"), "doctor"],
                env=on_x, timeout=120, capture_output=True, text=True, check=False,
            ).stdout  # fmt: skip
            if "Qt platform    ok  xcb starts" not in report.splitlines():
                raise SystemExit(f"Qt does not start on an X server:\n{report}")
            print("Qt starts on an X server (Xvfb)")
        else:
            print("xvfb-run is not installed: Qt on an X server not checked")
        shot = Path(tmp) / "board.png"
        subprocess.run(
            [exe, "--data-dir", str(Path(tmp) / "data"), "gui", "--screenshot", str(shot),
             "--size", "900x600"],
            env=env, check=True, timeout=120,
        )  # fmt: skip
        data = shot.read_bytes()
        if png_size(data) != (900, 600):
            raise SystemExit(f"the screenshot is {png_size(data)}, not 900x600")
        if distinct_colours(shot) < 16:
            raise SystemExit("the screenshot looks blank")
        # The bundle installs its own launcher entry, which starts the bundle.
        home = Path(tmp) / "share"
        subprocess.run(
            [exe, "--install-desktop-entry"],
            env={**env, "XDG_DATA_HOME": str(home)},
            check=True,
            timeout=60,
            capture_output=True,
        )
        entry = (home / "applications" / "io.github.seedbed.Seedbed.desktop").read_text()
        if f"Exec={exe}" not in entry.splitlines():
            raise SystemExit(f"the installed entry does not start {exe}:\n{entry}")
    print("smoke test passed:", exe)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "dist/seedbed/seedbed"))
