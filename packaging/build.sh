#!/usr/bin/env bash
# Build the one-folder bundle dist/seedbed/ with PyInstaller, then smoke-test it: the
# bundle itself answers --version and renders the window offscreen to a PNG.
#
#   bash packaging/build.sh          # build and smoke-test
#
# PyInstaller runs in its own throwaway tool environment (uv run --with), so it never
# enters the project's lock. One folder, not one file: a one-file bundle unpacks some
# 200 MB of Qt into /tmp on every start.
set -euo pipefail
cd "$(dirname "$0")/.."
uv run --with "pyinstaller>=6.10" pyinstaller packaging/seedbed.spec \
  --noconfirm --clean --distpath dist --workpath build/pyinstaller
uv run python packaging/smoke.py dist/seedbed/seedbed
