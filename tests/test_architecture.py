"""The package's shape holds: a pytest-free engine and results layer, small modules, a public API."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import pytest_arena

from .helpers import ROOT

PACKAGE = ROOT / "pytest_arena"
PYTEST_FREE = ("engine", "results")
LAYERS = ("engine", "students", "results", "twins")  # every other pytest_arena/*.py is the pytest glue
FORBIDDEN = {"pytest", "_pytest", "pluggy", "xdist"}
MAX_LINES = 400
API = {
    "Student",
    "StudentBase",
    "StudentConfig",
    "GenerationResult",
    "StudentError",
    "ToolSpec",
    "ToolOutcome",
    "ToolError",
    "ComplianceCheck",
    "CommandResult",
    "Workspace",
    "FixtureSpec",
    "SessionResult",
    "ToolCall",
    "Language",
    "PromptExamples",
}


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every absolute import in a file, at any depth (lazy imports too)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.partition(".")[0])
    return roots


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node, at any depth, except under ``if TYPE_CHECKING:`` (never imported at run time)."""
    found: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


def package_imports(path: Path, modules: set[str], package: Path = PACKAGE) -> set[str]:
    """The package's modules a file imports, at module level or inside a function (relative imports
    resolved; ``from . import x`` counts x when it is a module)."""
    name = module_name(path, package)
    here = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in modules and target != name}
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    paths = {module_name(path, package): path for path in sorted(package.rglob("*.py"))}
    return {name: package_imports(path, set(paths), package) for name, path in paths.items()}


def import_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph as a path that ends where it starts, or [] when there is none."""
    state: dict[str, str] = {}  # "open": on the current path; "done": no cycle through it

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [node, nxt] if nxt in path else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, path + [node])):
                return cycle
        state[node] = "done"
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [])):
            return cycle
    return []


def is_glue(module: str) -> bool:
    parts = module.split(".")
    return len(parts) == 2 and parts[1] not in LAYERS


def test_students_import_no_glue() -> None:
    """The glue calls students/, never the other way round: no import of a top-level module
    (plugin, items, options, ...) from students/, at module level or inside a function."""
    graph = import_graph()
    upward = {
        module: sorted(filter(is_glue, targets))
        for module, targets in graph.items()
        if module.startswith("pytest_arena.students") and any(map(is_glue, targets))
    }
    assert upward == {}, f"students/ imports the pytest glue: {upward}"


@pytest.mark.parametrize(("layer", "allowed"), [("engine", ("engine",)), ("results", ("engine", "results"))])
def test_engine_and_results_import_no_higher_layer(layer: str, allowed: tuple[str, ...]) -> None:
    """The engine imports only itself; results/ only the engine and itself (so facts both need, such
    as the scheme traits, live in engine/)."""
    prefixes = tuple(f"pytest_arena.{name}" for name in allowed)
    upward = {
        module: sorted(t for t in targets if not t.startswith(prefixes))
        for module, targets in import_graph().items()
        if module.startswith(f"pytest_arena.{layer}") and any(not t.startswith(prefixes) for t in targets)
    }
    assert upward == {}


def test_no_import_cycle() -> None:
    cycle = import_cycle(import_graph())
    assert cycle == [], "import cycle: " + " -> ".join(cycle)


def test_the_graph_sees_lazy_imports_and_the_cycle_they_close(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from .sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    from .. import a\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n")
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.sub", "pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg", "pkg.a"}
    assert graph["pkg.c"] == set()
    assert import_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.a"]
    assert is_glue("pytest_arena.options") and not is_glue("pytest_arena.students.schemes")


@pytest.mark.parametrize("layer", PYTEST_FREE)
def test_engine_and_results_import_neither_pytest_nor_pluggy(layer: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN)
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        if imported_roots(path) & FORBIDDEN
    }
    assert offenders == {}


def test_the_check_sees_a_lazy_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    import pluggy.hooks\n    from _pytest import nodes\n")
    assert imported_roots(module) == {"pluggy", "_pytest"}


def test_no_module_is_over_the_line_limit() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in sorted(PACKAGE.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_public_api_is_exported() -> None:
    assert set(pytest_arena.__all__) == API
    for name in API:
        assert getattr(pytest_arena, name).__name__ == name


@pytest.mark.slow
def test_the_api_and_the_plugin_import_light() -> None:
    """A plugin author's import, and pytest loading the plugin, pull in no matplotlib and no
    optional backend or pytest-xdist (they are extras)."""
    code = (
        "import sys, pytest_arena, pytest_arena.plugin; "
        "print(sorted({m.partition('.')[0] for m in sys.modules} & {'matplotlib', 'httpx', 'llama_cpp', 'xdist'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_engine_reads_student_capabilities_without_probing() -> None:
    """Capabilities are in the Student protocol (defaults on StudentBase): no getattr/hasattr on a
    student in engine/, except with_capabilities, the one place that fills in the defaults."""
    probes = []
    for path in sorted((PACKAGE / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and node.args
                and "student" in ast.unparse(node.args[0])
            ):
                probes.append(f"{path.relative_to(ROOT)}: {ast.unparse(node)}")
    assert probes == ["pytest_arena/engine/student.py: hasattr(student, name)"]


def test_a_student_of_a_plugin_without_the_base_gets_the_defaults() -> None:
    from pytest_arena.engine.student import with_capabilities

    class Bare:
        name = "bare"

    student = with_capabilities(Bare())
    assert student.chat_template_text is None and student.native_tools is False
    assert student.native_tools_blocked() == ""
    assert student.cancel() is None and student.close() is None
