"""The agent loop on a real fixture with real cargo: every outcome of DESIGN.md section 6."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_arena.engine import outcomes as oc
from pytest_arena.engine.corpus import load_fixture
from pytest_arena.engine.oracle import fixture_compliance
from pytest_arena.engine.session import Session, SessionResult, SessionSettings
from pytest_arena.engine.student import ContextExhausted, GenerationResult, StudentConfig, StudentError
from pytest_arena.engine.tools import Toolbox
from pytest_arena.engine.workspace import Workspace
from pytest_arena.students.scripted import ReferenceStudent, ScriptedStudent

from .helpers import CORPUS, FINISH, call, requires_cargo, tree_digest

pytestmark = requires_cargo
FIXTURE = "unix__01-wc"


def run(student: Any, fixture: str = FIXTURE, **settings: Any) -> tuple[SessionResult, str]:
    spec = load_fixture(CORPUS / fixture)
    ws = Workspace(spec.repo_dir, spec.protected)
    try:
        session = Session(spec, ws, student, SessionSettings(**settings), Toolbox(ws), fixture_compliance(spec))
        return session.run(), ws.diff()
    finally:
        ws.cleanup()


def scripted(tmp_path: Path, turns: list[str]) -> ScriptedStudent:
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"*": turns}))
    return ScriptedStudent(path)


def noncompliant_writes() -> list[str]:
    overlay = CORPUS / FIXTURE / "noncompliant"
    return [
        call("file_write", path=p.relative_to(overlay).as_posix(), content=p.read_text())
        for p in sorted(overlay.rglob("*"))
        if p.is_file()
    ]


def test_reference_passes_through_the_tool_protocol() -> None:
    before = tree_digest(CORPUS / FIXTURE)
    result, diff = run(ReferenceStudent())
    assert result.outcome == oc.OraclePassed(), result.verdict and result.verdict.explain()
    assert result.verdict is not None and result.verdict.passed
    assert result.strict_calls >= 2 and result.salvaged_calls == 0
    assert result.files_touched and diff.startswith("--- a/")
    assert tree_digest(CORPUS / FIXTURE) == before


def test_finish_only_is_oracle_failed(tmp_path: Path) -> None:
    result, _ = run(scripted(tmp_path, [FINISH]))
    assert result.outcome == oc.OracleFailed(turns=1)
    assert result.verdict is not None and result.verdict.failed_clause == "exit code"
    assert "test result: FAILED" in result.verdict.explain()


def test_talk_only_is_a_text_loop(tmp_path: Path) -> None:
    result, _ = run(scripted(tmp_path, ["I think the bug is in counter.rs. Let me explain in prose."]))
    assert isinstance(result.outcome, oc.AgentTextLoop)
    assert result.outcome.consecutive_text_turns == 4 and "counter.rs" in result.outcome.last_text_excerpt
    assert len(result.turns) == 4 and result.text_turns == 4


def test_text_loop_disabled_runs_out_of_turns(tmp_path: Path) -> None:
    result, _ = run(scripted(tmp_path, ["just talking"]), text_loop_limit=0, max_turns=3)
    assert result.outcome == oc.OracleFailedAfterMaxTurns(turns=3)


def test_passing_tests_with_a_lint_is_compliance_failed(tmp_path: Path) -> None:
    result, _ = run(scripted(tmp_path, [*noncompliant_writes(), FINISH]))
    assert isinstance(result.outcome, oc.ComplianceFailed), result.outcome
    assert result.outcome.check == "compliance_cmd"
    assert result.verdict is not None and result.verdict.tests_passed
    assert result.verdict.failed_clause == "compliance (compliance_cmd)"
    assert "clippy" in result.verdict.explain() or "error" in result.verdict.explain()


def test_repeating_a_noncompliant_write_is_a_trap_when_enforced(tmp_path: Path) -> None:
    writes = noncompliant_writes()
    assert len(writes) == 1
    result, _ = run(scripted(tmp_path, writes), compliance_enforced=True)
    assert isinstance(result.outcome, oc.ComplianceTrap), result.outcome
    assert result.outcome.consecutive_count == 3 and result.outcome.file.endswith(".rs")
    assert len(result.turns) == 3
    assert "compliance_failed: compliance_cmd" in result.turns[0].results[0]["output"]


def test_enforced_compliance_passes_quietly_on_a_clean_write(tmp_path: Path) -> None:
    solution = CORPUS / FIXTURE / "solution"
    writes = [
        call("file_write", path=p.relative_to(solution).as_posix(), content=p.read_text())
        for p in sorted(solution.rglob("*"))
        if p.is_file()
    ]
    result, _ = run(scripted(tmp_path, [*writes, FINISH]), compliance_enforced=True)
    assert result.outcome == oc.OraclePassed()
    assert "compliance_failed" not in result.turns[0].results[0]["output"]


def test_editing_protected_tests_does_not_help(tmp_path: Path) -> None:
    wipe = call("shell", command="for f in tests/*.rs; do echo > $f; done && cargo test --offline 2>&1 | tail -3")
    result, diff = run(scripted(tmp_path, [wipe, FINISH]))
    assert result.outcome == oc.OracleFailed(turns=2)
    assert result.restored and all(p.startswith("tests/") for p in result.restored)
    assert "tests/" not in diff


def test_recovery_is_observed_after_a_failing_shell_run(tmp_path: Path) -> None:
    reference = ReferenceStudent()
    reference.start(load_fixture(CORPUS / FIXTURE), StudentConfig())
    turns = [call("shell", command="cargo test --offline 2>&1 | tail -5; exit 1"), *reference._turns]
    result, _ = run(scripted(tmp_path, turns))
    assert result.outcome == oc.OraclePassed() and result.recovery_observed


def test_wall_budget(tmp_path: Path) -> None:
    result, _ = run(scripted(tmp_path, [call("shell", command="sleep 1.5")]), wall_timeout_s=1.0)
    assert isinstance(result.outcome, oc.WallTimeout) and result.outcome.turn == 1
    assert result.verdict is None


class Crashing:
    name = "crashing"

    def start(self, fixture: Any, config: StudentConfig) -> None:
        pass

    def generate(self, messages: list[Any], config: StudentConfig) -> GenerationResult:
        if len(messages) > 2:
            raise StudentError("context window exhausted (4096 tokens)")
        return GenerationResult(text=call("glob", pattern="src/*.rs"))

    def describe(self) -> dict[str, Any]:
        return {}


class Verbose(Crashing):
    """A backend whose prompt outgrew its context on the third turn."""

    def generate(self, messages: list[Any], config: StudentConfig) -> GenerationResult:
        if len(messages) > 4:
            raise ContextExhausted(prompt_tokens=8254, n_ctx=8192)
        return GenerationResult(text=call("glob", pattern="src/*.rs"))


def test_outgrowing_the_context_is_the_students_ending() -> None:
    result, _ = run(Verbose())
    assert result.outcome == oc.ContextExhausted(turn=3, prompt_tokens=8254, n_ctx=8192)
    assert result.outcome.name not in oc.NOT_COUNTED


def test_backend_failure_is_a_driver_error() -> None:
    result, _ = run(Crashing())
    assert result.outcome == oc.DriverError(message="context window exhausted (4096 tokens)", turn=2)


def test_salvaged_markdown_counts_separately(tmp_path: Path) -> None:
    solution = CORPUS / FIXTURE / "solution"
    files = [p for p in sorted(solution.rglob("*")) if p.is_file()]
    assert len(files) == 1
    markdown = (
        f"Here is the fix for `{files[0].relative_to(solution).as_posix()}`:\n```rust\n{files[0].read_text()}```\n"
    )
    result, _ = run(scripted(tmp_path, [markdown, FINISH]))
    assert (result.salvaged_calls, result.strict_calls) == (1, 1)  # the write salvaged, finish strict
    assert result.outcome == oc.OraclePassed()


@pytest.mark.parametrize("bad", ["[1, 2]", '{"*": []}', "not json"])
def test_bad_script_files_are_clear_errors(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(bad)
    with pytest.raises(StudentError, match=str(path)):
        ScriptedStudent(path)
