#!/usr/bin/env bash
# Check that `uv tool install .` and `pipx install .` give a working `seedbed` (pipx
# from PATH, else run through uvx): installed into throwaway directories, it must say its version,
# report on the machine, render the window offscreen, and install a launcher entry that
# starts it.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export UV_TOOL_DIR="$work/tools" UV_TOOL_BIN_DIR="$work/bin"
uv tool install --quiet .
uv run python packaging/smoke.py "$work/bin/seedbed"
pipx=(pipx)
command -v pipx >/dev/null 2>&1 || pipx=(uvx pipx)
PIPX_HOME="$work/pipx" PIPX_BIN_DIR="$work/pipx/bin" "${pipx[@]}" install --quiet .
uv run python packaging/smoke.py "$work/pipx/bin/seedbed"
