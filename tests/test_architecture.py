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
LAYERS = [
    "domain",
    "store",
    "vcs",
    "secrets",
    "sandbox",
    "talkback",  # Seedbed's MCP server (issue 18): its tools, server and stdio shim
    "agents",
    "core",
    "engine",
    "api",
    "service",
    "cli",
]
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


def all_modules() -> list[Path]:
    """Every module of the package, the Qt shell included."""
    return sorted(PACKAGE.rglob("*.py"))


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
        "seedbed.core.tasks",
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


# -- the window reaches the application only through core's verbs -----------------------

# DESIGN.md: the window (ui/, app.py) imports the domain, core, paths and itself; what it
# reads or changes goes through core's verbs, as it will over the engine's API (issue 16,
# step 2). Each exception names the module and what it may import besides, and why.
UI_ALLOWED = {"domain", "core", "paths", "ui"}
UI_EXCEPTIONS = {
    # The window's line to its engine: it finds (or starts) the engine of the data dir
    # and calls its verbs over the API. Nothing of the window imports the store.
    "seedbed.ui.common.host": {"api", "service"},
    # The window's calls about its engine process itself, which must work when there is
    # none to talk to: restart it (ensure_engine) and stop its runs before closing.
    "seedbed.ui.window.engine_calls": {"service.launch"},
    # Wiring: it has the engine of the data dir found (or started) before Qt loads, so
    # that an engine to be started starts while the window loads.
    "seedbed.app": {"service.launch"},
}


def ui_modules() -> list[Path]:
    """The Qt shell: every module of ui/, and app.py."""
    return [path for path in all_modules() if path not in set(core_modules())]


def ui_import_problems(name: str, source: str, allowed: set[str]) -> list[str]:
    """The imports of the package in `source` that are neither of a layer in UI_ALLOWED
    nor under one of `allowed` (dotted names below seedbed, e.g. "store.lock")."""
    wrong = []
    for module in sorted(imported_modules(source, name)):
        parts = module.split(".")
        if parts[0] != "seedbed" or len(parts) == 1 or parts[1] in UI_ALLOWED:
            continue
        below = ".".join(parts[1:])
        if not any(below == a or below.startswith(f"{a}.") for a in allowed):
            wrong.append(module)
    return wrong


def test_the_ui_rule_names_what_it_refuses() -> None:
    source = "from seedbed.store import Store\nfrom seedbed.core import reads\n"
    assert ui_import_problems("seedbed.ui.x", source, set()) == [
        "seedbed.store",
        "seedbed.store.Store",
    ]
    assert ui_import_problems("seedbed.ui.x", source, {"store"}) == []
    lock = "from seedbed.store.lock import EngineLock\nimport seedbed.vcs\n"
    assert ui_import_problems("seedbed.ui.x", lock, {"store.lock"}) == ["seedbed.vcs"]
    assert ui_import_problems("seedbed.ui.x", "from seedbed.storey import x\n", {"store"})


@pytest.mark.parametrize("path", ui_modules(), ids=module_name)
def test_the_window_reaches_the_application_only_through_core(path: Path) -> None:
    name = module_name(path)
    source = path.read_text(encoding="utf-8")
    wrong = ui_import_problems(name, source, UI_EXCEPTIONS.get(name, set()))
    assert not wrong, f"{name} imports {wrong}: call a verb of seedbed.core instead"


@pytest.mark.parametrize("name", sorted(UI_EXCEPTIONS))
def test_every_ui_exception_is_still_needed(name: str) -> None:
    path = next(p for p in ui_modules() if module_name(p) == name)
    source = path.read_text(encoding="utf-8")
    for allowed in UI_EXCEPTIONS[name]:
        left = UI_EXCEPTIONS[name] - {allowed}
        assert ui_import_problems(name, source, left), f"{name} no longer needs {allowed}"


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


# -- no import cycles -------------------------------------------------------------------

Graph = dict[str, set[str]]


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _reexports(tree: ast.Module, package: str, known: set[str]) -> dict[str, str]:
    """What a package's __init__ imports from its modules: name → the module defining it."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            target = _absolute(node, package)
            if target in known:
                for alias in node.names:
                    found[alias.asname or alias.name] = target
    return found


def import_graph(sources: dict[str, tuple[str, bool]]) -> Graph:
    """Which modules each module imports, at any depth of its code (in functions, under
    TYPE_CHECKING): `sources` maps a module's name to its source and whether it is a
    package's __init__. A name a package's __init__ re-exports counts as the module
    that defines it; only modules of `sources` are kept."""
    known = set(sources)
    trees = {name: ast.parse(source) for name, (source, _) in sources.items()}
    reexported = {
        name: _reexports(trees[name], name, known)
        for name, (_, is_package) in sources.items()
        if is_package
    }
    graph: Graph = {}
    for name, (_, is_package) in sources.items():
        package = name if is_package else name.rsplit(".", 1)[0]
        edges: set[str] = set()
        for node in ast.walk(trees[name]):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    deepest = [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
                    edges.update(next(([m] for m in deepest if m in known), []))
            elif isinstance(node, ast.ImportFrom):
                target = _absolute(node, package)
                for alias in node.names:
                    if f"{target}.{alias.name}" in known:  # a module of the package
                        edges.add(f"{target}.{alias.name}")
                    elif alias.name in reexported.get(target, {}):
                        edges.add(reexported[target][alias.name])
                    elif target in known:
                        edges.add(target)
        graph[name] = edges - {name}
    return graph


def import_cycles(graph: Graph) -> list[list[str]]:
    """One circle through each group of modules that import one another: [a, b, …, a]."""
    return [_circle(graph, component) for component in circular_groups(graph)]


def circular_groups(graph: Graph) -> list[list[str]]:
    """Each group of modules that import one another in a circle: the strongly connected
    components of more than one module (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def _circle(graph: Graph, component: list[str]) -> list[str]:
    """A path from the component's first module back to itself, inside the component."""
    members = set(component)
    start = component[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{component} is no circle")  # pragma: no cover


def package_graph() -> Graph:
    return import_graph(
        {
            module_name(path): (path.read_text(encoding="utf-8"), path.name == "__init__.py")
            for path in all_modules()
        }
    )


def test_the_cycle_finder_finds_a_circle() -> None:
    graph = {
        "p.a": {"p.b"},
        "p.b": {"p.c"},
        "p.c": {"p.a", "p.d"},
        "p.d": set(),
        "p.e": {"p.d"},
    }
    assert import_cycles(graph) == [["p.a", "p.b", "p.c", "p.a"]]
    assert circular_groups({**graph, "p.d": {"p.e"}, "p.e": {"p.d"}}) == [
        ["p.d", "p.e"],
        ["p.a", "p.b", "p.c"],
    ]
    assert import_cycles({**graph, "p.c": {"p.d"}}) == []


def test_the_graph_sees_lazy_typing_and_reexported_imports() -> None:
    sources = {
        "p": ("", True),
        "p.pkg": ("from p.pkg.inner import Thing\n", True),
        "p.pkg.inner": ("", False),
        "p.a": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from p.b import B\n"
            "def later():\n    from . import c\n",
            False,
        ),
        "p.b": ("from p.pkg import Thing\n", False),
        "p.c": ("import p.a\n", False),
    }
    graph = import_graph(sources)
    assert graph["p.a"] == {"p.b", "p.c"}
    assert graph["p.b"] == {"p.pkg.inner"}  # through the package's re-export
    assert import_cycles(graph) == [["p.a", "p.c", "p.a"]]


def test_the_graph_covers_every_module() -> None:
    graph = package_graph()
    assert {"seedbed.ui.window.main_window", "seedbed.app", "seedbed.core.tasks"} <= set(graph)
    # `from seedbed.store import Store` is an import of the module that defines Store.
    assert "seedbed.store.db" in graph["seedbed.core.tasks"]


def test_no_module_imports_itself_back() -> None:
    graph = package_graph()
    cycles = [_circle(graph, group) for group in circular_groups(graph)]
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


# The command line reaches the application only through core (and the engine process, for
# `seedbed run` and `seedbed engine`): what it needs from the store, git, the agents or the
# keyring is a core verb. `seedbed` itself is the package's version; `api` its client.
CLI_REACHES = {"cli", "domain", "core", "engine", "service", "paths", "api", "__version__"}
# Imports of the command line that may stay below core for now, each with its reason
# (module: the seedbed modules it may import). None today.
CLI_EXCEPTIONS: dict[str, set[str]] = {}


def cli_offenders(source: str, name: str) -> list[str]:
    """The seedbed modules `source` (module `name` of cli/) imports that it must not."""
    imports = imported_modules(source, name)
    allowed = CLI_EXCEPTIONS.get(name, set())
    return sorted(
        m
        for m in imports
        if top(m) == "seedbed"
        and "." in m
        and m.split(".")[1] not in CLI_REACHES
        and m not in allowed
    )


@pytest.mark.parametrize(
    ("source", "offender"),
    [
        ("from seedbed.store import Store", "seedbed.store"),
        ("from seedbed import secrets", "seedbed.secrets"),
        ("def later():\n    from seedbed.vcs import git\n", "seedbed.vcs"),
        ("import seedbed.agents.readiness", "seedbed.agents.readiness"),
    ],
)
def test_the_cli_check_names_an_import_below_core(source: str, offender: str) -> None:
    assert offender in cli_offenders(source, "seedbed.cli.x")


def test_the_cli_check_lets_core_and_the_version_through() -> None:
    source = "import seedbed\nfrom seedbed.core import reads\nfrom seedbed.engine.engine import E"
    assert cli_offenders(source + "\nfrom seedbed.paths import x", "seedbed.cli.x") == []


@pytest.mark.parametrize("path", sorted((PACKAGE / "cli").rglob("*.py")), ids=module_name)
def test_the_cli_reaches_the_application_only_through_core(path: Path) -> None:
    name = module_name(path)
    wrong = cli_offenders(path.read_text(encoding="utf-8"), name)
    assert not wrong, f"{name} imports {', '.join(wrong)}: reach it through a core verb"
