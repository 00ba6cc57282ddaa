"""The shape rules of DESIGN.md and STYLE.md: a Qt-free core, imports only going downward."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import seedbed

PACKAGE = Path(seedbed.__file__).parent
QT = {"PySide6", "shiboken6", "PyQt5", "PyQt6"}
# DESIGN.md "Layers", bottom first: a layer imports only itself and the layers before it.
LAYERS = ["domain", "store", "vcs", "secrets", "agents", "engine", "api", "cli"]
# `paths` (where the data dir is) is a leaf helper that any layer above the domain may use.
ALLOWED = {layer: {*LAYERS[: i + 1], "paths"} for i, layer in enumerate(LAYERS)}
ALLOWED["domain"] = {"domain"}
ALLOWED["paths"] = {"paths", "domain"}  # it sits just above the domain (its errors)
# The domain is pure data and rules: no I/O of any kind.
DOMAIN_FORBIDDEN = {
    "sqlite3",
    "subprocess",
    "asyncio",
    "socket",
    "shutil",
    "httpx",
    "git",
    "keyring",
    "platformdirs",
}


def core_modules() -> list[Path]:
    """Every module of the package except the Qt shell (ui/ and app.py)."""
    modules = [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in {"ui", "app.py"}
    ]
    return modules


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, name: str = "seedbed.x") -> set[str]:
    """Absolute names of every module `source` imports, also lazily inside functions or via
    importlib.import_module / __import__ with a literal name."""
    found: set[str] = set()
    package = name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = getattr(func, "attr", None) or getattr(func, "id", None)
            first = node.args[0]
            if called in {"import_module", "__import__"} and isinstance(first, ast.Constant):
                found.add(str(first.value))
    return found


def top(module: str) -> str:
    return module.split(".")[0]


def test_the_walk_sees_the_core() -> None:
    names = {module_name(path) for path in core_modules()}
    assert {
        "seedbed.cli",
        "seedbed.domain.models",
        "seedbed.store.db",
        "seedbed.vcs.git",
        "seedbed.engine.engine",
        "seedbed.agents.cli.command",
    } <= names
    assert not any(name.startswith("seedbed.ui") or name == "seedbed.app" for name in names)


@pytest.mark.parametrize(
    "source",
    [
        "import PySide6.QtCore",
        "from PySide6 import QtWidgets",
        "from shiboken6 import isValid",
        "def later():\n    from PySide6.QtGui import QColor\n",
        "import importlib\nimportlib.import_module('PySide6.QtWidgets')",
    ],
)
def test_the_qt_check_catches_qt_imports(source: str) -> None:
    assert {top(m) for m in imported_modules(source)} & QT


def test_relative_imports_resolve_to_their_package() -> None:
    found = imported_modules("from ..store import Store\nfrom . import slug", "seedbed.domain.x")
    assert {"seedbed.store", "seedbed.domain.slug"} <= found


@pytest.mark.parametrize("path", core_modules(), ids=module_name)
def test_the_core_never_imports_qt(path: Path) -> None:
    imports = imported_modules(path.read_text(encoding="utf-8"), module_name(path))
    assert not {m for m in imports if top(m) in QT}


@pytest.mark.parametrize("path", core_modules(), ids=module_name)
def test_imports_only_go_downward(path: Path) -> None:
    name = module_name(path)
    parts = name.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return  # the package root and the entry point may reach anything below them
    layer = parts[1].removesuffix(".py")
    allowed = ALLOWED.get(layer)
    assert allowed is not None, f"{name} is in no layer of DESIGN.md; add it to ALLOWED"
    imports = imported_modules(path.read_text(encoding="utf-8"), name)
    reached = {m.split(".")[1] for m in imports if top(m) == "seedbed" and "." in m}
    wrong = reached - allowed - {"__version__"}
    assert not wrong, f"{name} imports {sorted(wrong)}, which are not below {layer}"
    if layer == "domain":
        assert not {top(m) for m in imports} & DOMAIN_FORBIDDEN, name


def test_importing_the_core_does_not_load_qt() -> None:
    names = sorted(module_name(path) for path in core_modules())
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "import seedbed.cli\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(QT)!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert "seedbed.cli" in names


def test_the_check_would_see_qt_if_it_were_loaded() -> None:
    code = "import sys, PySide6.QtCore; print('PySide6' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout.strip()) == (0, "True"), result.stderr
