"""The plugin hooks (pytest_arena/hookspecs.py), through the worked example in
examples/arena_example_plugin/ and a conftest.py plugin: real pytest runs on the real corpus.

The example is loaded as a user would load it without installing it: the module on PYTHONPATH
and ``-p arena_example_plugin``. One arena run (module-scoped) carries two items: a scripted
student that calls the example's ``repo_map`` tool and leaves a TODO in an otherwise correct fix,
and the example's ``replay:`` student that applies the reference solution.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_arena.engine.corpus import load_fixture
from pytest_arena.engine.protocol import system_prompt
from pytest_arena.engine.student import StudentConfig, StudentError
from pytest_arena.engine.tools import Toolbox
from pytest_arena.engine.workspace import Workspace

from .helpers import (
    CORPUS,
    FINISH,
    ROOT,
    call,
    junit_cases,
    requires_cargo,
    run_pytest,
    tiny_fixture,
    write_script,
)

EXAMPLE = ROOT / "examples" / "arena_example_plugin"
TWO_SUM = CORPUS / "leetcode__01-two-sum"
SOLUTION = (TWO_SUM / "solution" / "src" / "lib.rs").read_text(encoding="utf-8")
TODO_FIX = SOLUTION + "\n// TODO: check the input length first\n"


@pytest.fixture(scope="module")
def example() -> Iterator[Any]:
    """The example plugin module, imported from its folder (not installed)."""
    sys.path.insert(0, str(EXAMPLE))
    try:
        import arena_example_plugin

        yield arena_example_plugin
    finally:
        sys.path.remove(str(EXAMPLE))


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    ws = Workspace(TWO_SUM / "repo", [], prefix="arena-hooks-")
    yield ws
    ws.cleanup()


# -- the example's parts on their own (no cargo) ------------------------------------------------


def test_entry_point_names_the_module(example: Any) -> None:
    meta = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["entry-points"]["pytest11"] == {"arena_example": "arena_example_plugin"}
    assert meta["tool"]["setuptools"]["py-modules"] == ["arena_example_plugin"]
    for hook in (
        "pytest_arena_make_student",
        "pytest_arena_tools",
        "pytest_arena_compliance",
        "pytest_arena_session_finish",
    ):
        assert callable(getattr(example, hook))


def test_repo_map_is_offered_and_confined(example: Any, workspace: Workspace, tmp_path: Path) -> None:
    extra = example.pytest_arena_tools(config=None, fixture=load_fixture(TWO_SUM))
    toolbox = Toolbox(workspace, tuple(extra))
    schema = json.loads(toolbox.call_schema())
    assert "repo_map" in [s["properties"]["name"]["const"] for s in schema["oneOf"]]
    assert "- repo_map(path?):" in system_prompt(toolbox.specs.values())

    listing = toolbox.execute("repo_map", {})
    assert listing.ok and "src/lib.rs\n    pub fn two_sum(nums: &[i32], target: i32)" in listing.output
    assert "tests/two_sum.rs" in listing.output
    only_src = toolbox.execute("repo_map", {"path": "src"})
    assert only_src.ok and "tests/" not in only_src.output and "src/lib.rs" in only_src.output

    secret = tmp_path / "secret.rs"
    secret.write_text("pub fn outside_secret() {}\n")
    (workspace.root / "src" / "leak.rs").symlink_to(secret)
    (workspace.root / "out").symlink_to(tmp_path)
    mapped = toolbox.execute("repo_map", {})
    assert "outside_secret" not in mapped.output
    assert "src/leak.rs  (link outside the project; skipped)" in mapped.output
    for path in ("..", "/etc", "out"):
        refused = toolbox.execute("repo_map", {"path": path})
        assert not refused.ok and "outside the project" in refused.output, path
    assert not toolbox.execute("repo_map", {"path": "src/lib.rs"}).ok


def test_no_todo_comments_names_the_line(example: Any, workspace: Workspace, tmp_path: Path) -> None:
    (check,) = example.pytest_arena_compliance(config=None, fixture=load_fixture(TWO_SUM), workspace=workspace)
    assert check.name == "no_todo_comments"
    assert check.run(workspace, 10.0).ok
    workspace.write_text("src/lib.rs", TODO_FIX)
    failed = check.run(workspace, 10.0)
    assert failed.exit_code == 1 and "src/lib.rs:" in failed.output and "TODO: check" in failed.output
    # A src/ swapped for a link out of the project is refused, not read.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.rmtree(workspace.root / "src")
    (workspace.root / "src").symlink_to(outside)
    assert not check.run(workspace, 10.0).ok


def test_replay_scheme_owns_only_its_specs(example: Any, pytestconfig: pytest.Config, tmp_path: Path) -> None:
    for spec in ("reference", "scripted:x.json", "llama:m.gguf", "replayx"):
        assert example.pytest_arena_make_student(config=pytestconfig, spec=spec) is None
    turns = tmp_path / "turns.jsonl"
    turns.write_text(
        json.dumps({"fixture": "other", "say": "not for two-sum"})
        + "\n\n"
        + json.dumps({"call": "glob", "input": {"pattern": "src/*"}})
        + "\n"
    )
    student = example.pytest_arena_make_student(config=pytestconfig, spec=f"replay:{turns}")
    student.start(load_fixture(TWO_SUM), StudentConfig())
    assert '"name": "glob"' in student.generate([], StudentConfig()).text
    assert '"name": "finish"' in student.generate([], StudentConfig()).text
    with pytest.raises(StudentError, match="cannot read"):
        example.pytest_arena_make_student(config=pytestconfig, spec=f"replay:{tmp_path / 'missing.jsonl'}")
    turns.write_text('{"say": 3}\n')
    with pytest.raises(StudentError, match=r"turns.jsonl:1: expected"):
        example.pytest_arena_make_student(config=pytestconfig, spec=f"replay:{turns}")


# -- all four hooks in one arena run ------------------------------------------------------------


class ArenaRun:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.junit = tmp / "junit.xml"
        self.summary = tmp / "dashboard.jsonl"
        self.script = write_script(
            tmp / "todo.json",
            {
                "*": [
                    call("repo_map"),
                    call("file_write", path="src/lib.rs", content=TODO_FIX),
                    FINISH,
                ]
            },
        )
        self.replay = tmp / "fix.jsonl"
        self.replay.write_text(
            json.dumps(
                {"fixture": TWO_SUM.name, "call": "file_write", "input": {"path": "src/lib.rs", "content": SOLUTION}}
            )
            + "\n"
        )
        # The module alone on PYTHONPATH: an egg-info left in EXAMPLE by a local build would
        # also register the entry point, and pytest refuses the same module under two names.
        site = tmp / "site"
        site.mkdir()
        shutil.copy(EXAMPLE / "arena_example_plugin.py", site)
        with pytest.MonkeyPatch.context() as env:
            env.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
            env.setenv("ARENA_EXAMPLE_SUMMARY", str(self.summary))
            self.run = run_pytest(
                "-p",
                "arena_example_plugin",
                "--arena",
                "--arena-constrain",
                "-v",
                "--arena-student",
                f"scripted:{self.script}",
                "--arena-student",
                f"replay:{self.replay}",
                f"--junitxml={self.junit}",
                f"--arena-reports={tmp / 'reports'}",
                str(TWO_SUM),
            )
        self.cases = junit_cases(self.junit)

    def case(self, student_prefix: str) -> tuple[str, dict[str, str]]:
        (found,) = [(name, props) for name, props in self.cases.items() if f"[{student_prefix}" in name]
        return found

    def trajectory(self, props: dict[str, str]) -> dict[str, Any]:
        return json.loads((self.tmp / "reports" / "latest" / props["arena.trajectory"]).read_text())


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> ArenaRun:
    if shutil.which("cargo") is None:
        pytest.skip("cargo not found: install Rust (./run setup does it)")
    return ArenaRun(tmp_path_factory.mktemp("hooks-arena"))


@requires_cargo
def test_plugin_tool_reaches_prompt_schema_and_trajectory(arena: ArenaRun) -> None:
    assert len(arena.cases) == 2, arena.run.output
    _, props = arena.case("scripted-todo")
    first = arena.trajectory(props)["turns"][0]
    assert "- repo_map(path?): list files" in first["prompt_delta"][0]["content"]  # the system prompt
    assert first["calls"] == [{"name": "repo_map", "input": {}, "salvaged": False}]
    (result,) = first["results"]
    assert result["ok"] and "src/lib.rs\n    pub fn two_sum(" in result["output"]
    # --arena-constrain: the schema the session handed the (replay) student lists the plugin's tool.
    _, replay = arena.case("replay-")
    assert "repo_map" in replay["arena.student.schema_tools"].split(",")
    assert "file_write" in replay["arena.student.schema_tools"].split(",")


@requires_cargo
def test_plugin_check_fails_an_otherwise_passing_fix(arena: ArenaRun) -> None:
    _, props = arena.case("scripted-todo")
    assert props["arena.outcome"] == "ComplianceFailed", arena.run.output
    assert json.loads(props["arena.outcome_fields"])["check"] == "no_todo_comments"
    assert props["arena.failed_clause"] == "compliance (no_todo_comments)"
    assert "NONCOMPLIANT" in arena.run.output
    assert "ComplianceFailed(check='no_todo_comments'" in arena.run.output
    assert "check 'no_todo_comments'" in arena.run.output and "src/lib.rs:" in arena.run.output


@requires_cargo
def test_plugin_student_scheme_runs_an_item(arena: ArenaRun) -> None:
    _, props = arena.case("replay-")
    assert props["arena.outcome"] == "OraclePassed", arena.run.output
    assert props["arena.student.backend"] == "replay"
    assert props["arena.student_spec"] == f"replay:{arena.replay}"
    assert arena.run.returncode == 1 and "1 failed, 1 passed" in arena.run.output


@requires_cargo
def test_session_finish_sees_every_item(arena: ArenaRun) -> None:
    lines = [json.loads(line) for line in arena.summary.read_text().splitlines()]
    assert sorted(line["item"] for line in lines) == sorted(arena.cases)
    by_outcome = {line["outcome"]: line for line in lines}
    assert set(by_outcome) == {"ComplianceFailed", "OraclePassed"}
    assert by_outcome["ComplianceFailed"]["fields"]["check"] == "no_todo_comments"
    assert by_outcome["OraclePassed"]["passed"] and by_outcome["OraclePassed"]["tool_calls"] == 2


# -- built-in students go through the same hook -------------------------------------------------

OVERRIDE_CONFTEST = """
from pathlib import Path

from pytest_arena.engine.student import GenerationResult

USED = Path(__file__).with_name("override-used.txt")


class QuitAtOnce:
    name = "quit-at-once"

    def start(self, fixture, config):
        with USED.open("a") as handle:
            handle.write(fixture.id + "\\n")

    def generate(self, messages, config):
        return GenerationResult(text='<tool_call>{"name": "finish", "input": {}}</tool_call>')

    def describe(self):
        return {"student": self.name, "backend": "conftest-override"}


def pytest_arena_make_student(config, spec):
    return QuitAtOnce() if spec == "reference" else None
"""


@pytest.mark.slow
def test_a_conftest_plugin_overrides_the_builtin_reference(tmp_path: Path) -> None:
    project = tmp_path / "project"
    fixture = tiny_fixture(project / "fixtures")
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "conftest.py").write_text(OVERRIDE_CONFTEST)
    junit = tmp_path / "junit.xml"
    run = run_pytest(
        "--arena",
        "--arena-student",
        "reference",
        "-v",
        f"--junitxml={junit}",
        f"--arena-reports={tmp_path / 'reports'}",
        cwd=project,
    )
    assert run.returncode == 1, run.output
    assert (project / "override-used.txt").read_text() == f"{fixture.name}\n"
    (props,) = junit_cases(junit).values()
    assert props["arena.outcome"] == "OracleFailed"  # the real reference would have passed
    assert props["arena.student.backend"] == "conftest-override"
    assert "ORACLE_FAILED" in run.output
