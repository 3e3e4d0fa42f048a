"""The pytest glue says each thing once: one helper asks whether this process is an xdist worker,
the arena's own plugin objects are found through typed stash keys (as pytest's junitxml finds its
LogXML), never by their registered names, and the report that ends an item is recognised in one place."""

from __future__ import annotations

import ast
from pathlib import Path

from .helpers import ROOT

PACKAGE = ROOT / "pytest_arena"
GLUE = sorted(PACKAGE.glob("*.py"))  # the package's top level: the pytest glue


def _calls(path: Path) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Call)]


def _strings(call: ast.Call) -> list[str]:
    return [arg.value for arg in call.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]


def test_one_helper_asks_whether_this_is_a_worker() -> None:
    askers = [
        f"{path.name}: {ast.unparse(call)}"
        for path in GLUE
        for call in _calls(path)
        if isinstance(call.func, ast.Name)
        and call.func.id in ("hasattr", "getattr")
        and "workerinput" in _strings(call)
    ]
    assert askers == [
        "xdist_role.py: hasattr(config, 'workerinput')",
        "xdist_role.py: getattr(config, 'workerinput', None)",
    ]


def test_the_arena_finds_its_own_plugins_by_stash_key_not_by_name() -> None:
    by_name = [
        f"{path.relative_to(ROOT)}: {ast.unparse(call)}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for call in _calls(path)
        if isinstance(call.func, ast.Attribute)
        and call.func.attr == "get_plugin"
        and any(name.startswith("arena") for name in _strings(call))
    ]
    assert by_name == []


def test_the_end_of_an_item_is_recognised_in_one_place() -> None:
    """Whether a report ends an arena item (its call, or a setup that failed) is ended_outcome's
    question; the recorder and the progress line both ask it."""
    spelled = [path.name for path in GLUE if 'report.when == "setup" and report.failed' in path.read_text()]
    assert spelled == ["progress.py"]
