"""The desktop entry, icons and AppStream metadata: valid by the freedesktop tools, and
installed for the user by `seedbed --install-desktop-entry`."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

from seedbed.cli.desktop_entry import APP_ID, exec_line, resources_dir

RESOURCES = Path(__file__).resolve().parents[1] / "resources"


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_the_entry_and_metainfo_are_valid() -> None:
    entry = RESOURCES / f"{APP_ID}.desktop"
    checked = subprocess.run(
        ["desktop-file-validate", str(entry)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    metainfo = RESOURCES / f"{APP_ID}.metainfo.xml"
    checked = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(metainfo)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert resources_dir() == RESOURCES


def test_every_icon_is_the_size_its_folder_says() -> None:
    icons = sorted((RESOURCES / "icons" / "hicolor").glob("*/apps/*.png"))
    assert len(icons) >= 6
    for icon in icons:
        size = int(icon.parts[-3].split("x")[0])
        assert png_size(icon) == (size, size), icon


def test_install_desktop_entry_puts_a_valid_entry_that_starts_this_seedbed(
    tmp_path: Path,
) -> None:
    home = tmp_path / "share"
    env = {**os.environ, "XDG_DATA_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-m", "seedbed", "--install-desktop-entry"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    ).stdout
    entry = home / "applications" / f"{APP_ID}.desktop"
    assert str(entry) in out.splitlines()
    checked = subprocess.run(
        ["desktop-file-validate", str(entry)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout
    exec_value = next(
        line.removeprefix("Exec=") for line in entry.read_text().splitlines()
        if line.startswith("Exec=")
    )  # fmt: skip
    program = exec_value.split(" ")[0].strip('"')
    assert Path(program).is_file() and os.access(program, os.X_OK)
    assert png_size(home / "icons" / "hicolor" / "48x48" / "apps" / f"{APP_ID}.png") == (48, 48)
    assert (home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    assert (home / "metainfo" / f"{APP_ID}.metainfo.xml").is_file()
    # No icon cache is made where there was none: it would hide icons installed later.
    assert not (home / "icons" / "hicolor" / "icon-theme.cache").exists()
    # The command it names really starts Seedbed.
    version = subprocess.run(
        [*[part.strip('"') for part in exec_value.split(" ")], "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert version.startswith("seedbed ")


def test_exec_lines_quote_what_the_specification_reserves() -> None:
    assert exec_line(["/usr/bin/seedbed"]) == "/usr/bin/seedbed"
    assert exec_line(["/opt/my apps/python", "-m", "seedbed"]) == (
        '"/opt/my apps/python" -m seedbed'
    )
    assert exec_line(['/x/"q"$HOME']) == '"/x/\\"q\\"\\$HOME"'
    assert exec_line(["/x/100%"]) == "/x/100%%"


def test_an_icon_cache_the_user_has_is_rebuilt_with_the_icon(tmp_path: Path) -> None:
    home = tmp_path / "share"
    hicolor = home / "icons" / "hicolor"
    other = hicolor / "48x48" / "apps" / "another-app.png"  # some other program's icon
    other.parent.mkdir(parents=True)
    other.write_bytes(
        (RESOURCES / "icons" / "hicolor" / "48x48" / "apps" / f"{APP_ID}.png").read_bytes()
    )
    subprocess.run(["gtk-update-icon-cache", "-q", "-t", "-f", str(hicolor)], check=True)
    cache = hicolor / "icon-theme.cache"
    assert APP_ID.encode() not in cache.read_bytes()
    subprocess.run(
        [sys.executable, "-m", "seedbed", "--install-desktop-entry"],
        capture_output=True,
        env={**os.environ, "XDG_DATA_HOME": str(home)},
        check=True,
        timeout=60,
    )
    assert APP_ID.encode() in cache.read_bytes()  # else GTK would not find the new icon
