#!/usr/bin/env bash
# Check that `uv tool install .` gives a working `seedbed`: installed into throwaway tool
# and bin directories, it must say its version, report on the machine, render the window
# offscreen, and install a launcher entry that starts it.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export UV_TOOL_DIR="$work/tools" UV_TOOL_BIN_DIR="$work/bin"
uv tool install --quiet .
uv run python packaging/smoke.py "$work/bin/seedbed"
