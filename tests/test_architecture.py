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
    assert student.cancel() is None and student.close() is None
