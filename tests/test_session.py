"""The agent loop and its detectors on a fixture of a few shell lines (no cargo, no Python tools):
every ending of DESIGN.md section 6 a session decides itself, driven by scripted students."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from pytest_arena.engine import outcomes as oc
from pytest_arena.engine import turn_timeout
from pytest_arena.engine.corpus import load_fixture
from pytest_arena.engine.opening import open_session
from pytest_arena.engine.oracle import fixture_compliance
from pytest_arena.engine.protocol import NUDGE
from pytest_arena.engine.sandbox import Sandbox
from pytest_arena.engine.session import Session, SessionResult, SessionSettings
from pytest_arena.engine.student import ContextExhausted, GenerationResult, StudentConfig, StudentError
from pytest_arena.engine.tools import BUILTIN_TOOLS, Toolbox
from pytest_arena.engine.workspace import Workspace
from pytest_arena.students.scripted import ReferenceStudent, ScriptedStudent

from .helpers import CORPUS, FINISH, call, requires_cargo, session, tiny_fixture, tree_digest, write_script

RIGHT = call("file_write", path="answer.txt", content="42\n")
WITH_TODO = call("file_write", path="answer.txt", content="42\nTODO: say why\n")
LOOK = call("glob", pattern="*")


def run(
    tmp_path: Path, student: Any, meta: dict[str, object] | None = None, **settings: Any
) -> tuple[SessionResult, str]:
    """``student``: a list of turn texts (scripted) or a student object."""
    if isinstance(student, list):
        student = ScriptedStudent(write_script(tmp_path / "script.json", {"*": student}))
    fixture = tiny_fixture(tmp_path, **(meta or {}))
    return session(fixture, student, Sandbox("none"), **settings)


def test_the_right_answer_then_finish_passes(tmp_path: Path) -> None:
    fixture = tiny_fixture(tmp_path)
    before = tree_digest(fixture)
    result, diff = run(tmp_path, [RIGHT, FINISH])
    assert result.outcome == oc.OraclePassed(), result.verdict and result.verdict.explain()
    assert result.verdict is not None and result.verdict.passed and result.verdict.explain() == "compound oracle passed"
    assert (result.strict_calls, result.salvaged_calls, result.text_turns, len(result.turns)) == (2, 0, 0, 2)
    assert result.files_touched == ["answer.txt"] and "-41\n+42" in diff
    assert result.dialect["dialect"] == "arena" and "answer.txt must hold the answer" in result.rendered_prompt
    assert [m["role"] for m in result.turns[0].prompt_delta] == ["system", "user"]
    assert result.turns[0].results[0]["ok"] and result.turns[0].results[0]["name"] == "file_write"
    assert tree_digest(fixture) == before  # the fixture itself is never touched


def test_the_opening_is_what_turn_1_shows(tmp_path: Path) -> None:
    """open_session is the one definition of a first turn (benchmarks replay it without a session)."""
    result, _ = run(tmp_path, [FINISH], config=StudentConfig(max_tokens=99))
    spec = load_fixture(tiny_fixture(tmp_path))
    opening = open_session(
        spec, spec.repo_dir, ScriptedStudent(tmp_path / "script.json"), StudentConfig(), "auto", BUILTIN_TOOLS
    )
    assert result.turns[0].prompt_delta == opening.messages and opening.dialect == result.dialect
    assert "answer.txt" in opening.messages[1]["content"] and "tests/check.sh" in opening.messages[1]["content"]


def test_finish_only_is_oracle_failed(tmp_path: Path) -> None:
    result, diff = run(tmp_path, [FINISH])
    assert result.outcome == oc.OracleFailed(turns=1)
    assert result.verdict is not None and result.verdict.failed_clause == "exit code"
    assert "answer.txt says 41, expected 42" in result.verdict.explain()
    assert result.verdict.compliance == []  # compliance only decides between passed and ComplianceFailed
    assert diff == "" and result.files_touched == []


def test_a_fix_without_finish_passes_at_the_turn_budget(tmp_path: Path) -> None:
    result, _ = run(tmp_path, [RIGHT, LOOK], max_turns=3)
    assert result.outcome == oc.OraclePassed() and len(result.turns) == 3


@pytest.mark.parametrize(("meta", "settings", "turns"), [({}, {"max_turns": 3}, 3), ({"max_turns": 2}, {}, 2)])
def test_no_fix_at_the_turn_budget_is_max_turns(
    tmp_path: Path, meta: dict[str, object], settings: dict[str, Any], turns: int
) -> None:
    """--arena-max-turns when given, else the fixture's own max_turns."""
    result, _ = run(tmp_path, [LOOK], meta, **settings)
    assert result.outcome == oc.OracleFailedAfterMaxTurns(turns=turns)
    assert len(result.turns) == turns and result.verdict is not None and not result.verdict.tests_passed


@pytest.mark.parametrize("limit", [4, 2])
def test_talk_only_is_a_text_loop(tmp_path: Path, limit: int) -> None:
    result, _ = run(tmp_path, ["I think the answer is wrong. Let me explain in prose."], text_loop_limit=limit)
    assert result.outcome == oc.AgentTextLoop(limit, "I think the answer is wrong. Let me explain in prose.")
    assert len(result.turns) == limit and result.text_turns == limit and result.verdict is None
    # Every text turn is answered with a nudge: all the next turn is shown that is new.
    assert result.turns[1].prompt_delta == [{"role": "user", "content": NUDGE}]


def test_a_tool_call_resets_the_text_loop_count(tmp_path: Path) -> None:
    result, _ = run(tmp_path, ["talk", "talk", "talk", LOOK, "talk", "talk", "talk"], max_turns=7)
    assert result.outcome == oc.OracleFailedAfterMaxTurns(turns=7) and result.text_turns == 6


def test_text_loop_disabled_runs_out_of_turns(tmp_path: Path) -> None:
    result, _ = run(tmp_path, ["just talking"], text_loop_limit=0, max_turns=5)
    assert result.outcome == oc.OracleFailedAfterMaxTurns(turns=5) and result.text_turns == 5


def test_passing_tests_with_a_failing_check_is_compliance_failed(tmp_path: Path) -> None:
    result, _ = run(tmp_path, [WITH_TODO, FINISH])
    assert result.outcome == oc.ComplianceFailed(check="compliance_cmd", turn=2)
    assert result.verdict is not None and result.verdict.tests_passed
    assert result.verdict.failed_clause == "compliance (compliance_cmd)" and "2:TODO" in result.verdict.explain()
    assert "compliance_failed" not in result.turns[0].results[0]["output"]  # not enforced: no per-turn check


def test_compliance_failed_also_at_the_turn_budget(tmp_path: Path) -> None:
    result, _ = run(tmp_path, [WITH_TODO, LOOK], max_turns=2)
    assert result.outcome == oc.ComplianceFailed(check="compliance_cmd", turn=2)


def test_repeating_a_noncompliant_write_is_a_trap_when_enforced(tmp_path: Path) -> None:
    result, _ = run(tmp_path, [WITH_TODO], compliance_enforced=True)
    assert isinstance(result.outcome, oc.ComplianceTrap), result.outcome
    assert (result.outcome.file, result.outcome.consecutive_count) == ("answer.txt", 3)
    assert "2:TODO" in result.outcome.last_reason
    assert len(result.turns) == 3 and result.verdict is None
    assert "compliance_failed: compliance_cmd (exit code 1)" in result.turns[0].results[0]["output"]


@pytest.mark.slow
def test_the_trap_counts_the_same_content_in_a_row_only(tmp_path: Path) -> None:
    other = call("file_write", path="answer.txt", content="42\nTODO: later\n")
    turns = [WITH_TODO, WITH_TODO, other, other, RIGHT, other, FINISH]  # a clean write starts the count anew
    result, _ = run(tmp_path, turns, compliance_enforced=True, max_turns=7)
    assert result.outcome == oc.ComplianceFailed(check="compliance_cmd", turn=7)
    result, _ = run(tmp_path, turns, compliance_enforced=True, trap_limit=2)
    assert isinstance(result.outcome, oc.ComplianceTrap) and result.outcome.consecutive_count == 2
    assert len(result.turns) == 2


def test_an_added_suppression_fails_the_per_turn_check_and_can_trap(tmp_path: Path) -> None:
    silenced = call("file_write", path="helper.py", content="import os  # noqa: F401\n")
    result, _ = run(tmp_path, [silenced], compliance_enforced=True, meta={"editable": ["answer.txt", "helper.py"]})
    assert isinstance(result.outcome, oc.ComplianceTrap), result.outcome
    assert result.outcome.file == "helper.py" and "helper.py:1: noqa" in result.outcome.last_reason
    assert "compliance_failed: suppression" in result.turns[0].results[0]["output"]


def test_enforced_compliance_is_quiet_on_a_clean_write(tmp_path: Path) -> None:
    result, _ = run(tmp_path, [RIGHT, FINISH], compliance_enforced=True)
    assert result.outcome == oc.OraclePassed()
    assert "compliance_failed" not in result.turns[0].results[0]["output"]


def test_editing_protected_tests_does_not_help(tmp_path: Path) -> None:
    cheat = call("file_write", path="tests/check.sh", content="echo '1 passed'\n")
    result, diff = run(tmp_path, [cheat, FINISH])
    assert result.outcome == oc.OracleFailed(turns=2)
    assert result.restored == ["tests/check.sh"] and result.files_touched == ["tests/check.sh"]
    assert "tests/" not in diff


def test_recovery_is_observed_after_a_failing_shell_run(tmp_path: Path) -> None:
    result, _ = run(tmp_path, [call("shell", command="sh tests/check.sh"), RIGHT, FINISH])
    assert result.outcome == oc.OraclePassed() and result.shell_failed and result.recovery_observed
    assert result.turns[0].results[0]["output"].startswith("exit code 1\n1 failed")


@pytest.mark.slow
def test_wall_budget(tmp_path: Path) -> None:
    result, _ = run(tmp_path, [call("shell", command="sleep 0.6"), FINISH], wall_timeout_s=0.3)
    assert isinstance(result.outcome, oc.WallTimeout) and result.outcome.turn == 1
    assert result.outcome.elapsed_s >= 0.3 and result.verdict is None


class Crashing:
    name = "crashing"

    def start(self, fixture: Any, config: StudentConfig) -> None:
        pass

    def generate(self, messages: list[Any], config: StudentConfig) -> GenerationResult:
        if len(messages) > 2:
            raise StudentError("context window exhausted (4096 tokens)")
        return GenerationResult(text=LOOK)

    def describe(self) -> dict[str, Any]:
        return {}


class Verbose(Crashing):
    """A backend whose prompt outgrew its context on the third turn."""

    def generate(self, messages: list[Any], config: StudentConfig) -> GenerationResult:
        if len(messages) > 4:
            raise ContextExhausted(prompt_tokens=8254, n_ctx=8192)
        return GenerationResult(text=LOOK)


class Hanging(Crashing):
    def generate(self, messages: list[Any], config: StudentConfig) -> GenerationResult:
        time.sleep(3)
        return GenerationResult(text=FINISH)


class Counting(Crashing):
    """Reports tokens and a truncated turn the way a model backend does."""

    def generate(self, messages: list[Any], config: StudentConfig) -> GenerationResult:
        finish = "length" if len(messages) == 2 else "stop"
        text = LOOK if finish == "length" else FINISH
        return GenerationResult(text, finish, prompt_tokens=100, prefill_tokens=60, completion_tokens=7)


def test_outgrowing_the_context_is_the_students_ending(tmp_path: Path) -> None:
    result, _ = run(tmp_path, Verbose())
    assert result.outcome == oc.ContextExhausted(turn=3, prompt_tokens=8254, n_ctx=8192)
    assert result.outcome.name not in oc.NOT_COUNTED and result.verdict is None


def test_backend_failure_is_a_driver_error(tmp_path: Path) -> None:
    result, _ = run(tmp_path, Crashing())
    assert result.outcome == oc.DriverError(message="context window exhausted (4096 tokens)", turn=2)
    assert result.outcome.name in oc.NOT_COUNTED


def test_a_student_that_cannot_start_is_a_driver_error_before_turn_1(tmp_path: Path) -> None:
    script = write_script(tmp_path / "other.json", {"some-other-fixture": [FINISH]})
    result, _ = run(tmp_path, ScriptedStudent(script))
    assert isinstance(result.outcome, oc.DriverError) and result.outcome.turn == 0
    assert "no turns for fixture 'tiny__01-answer'" in result.outcome.message and result.turns == []


def test_a_dialect_the_student_cannot_speak_is_a_driver_error(tmp_path: Path) -> None:
    result, _ = run(tmp_path, [FINISH], dialect="native")
    assert result.outcome == oc.DriverError(
        message="--arena-dialect native: the native dialect needs an openai: student", turn=0
    )


def test_a_hanging_turn_hits_the_per_turn_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turn_timeout, "TURN_GRACE_S", 0.0)
    started = time.monotonic()
    result, _ = run(tmp_path, Hanging(), config=StudentConfig(turn_timeout_s=0.2))
    assert result.outcome == oc.DriverError(
        message="student 'crashing' gave no answer within 0.2s (per-turn timeout, --arena-turn-timeout)", turn=1
    )
    assert time.monotonic() - started < 2.5


def test_tokens_truncation_and_turn_callbacks(tmp_path: Path) -> None:
    spec = load_fixture(tiny_fixture(tmp_path))
    ws = Workspace(spec.repo_dir, spec.protected, sandbox=Sandbox("none"))
    started: list[int] = []
    ended: list[tuple[int, int]] = []
    try:
        live = Session(spec, ws, Counting(), SessionSettings(), Toolbox(ws), fixture_compliance(spec))
        live.on_turn_start = started.append
        live.on_turn = lambda turn, budget: ended.append((turn.index, budget))
        result = live.run()
    finally:
        ws.cleanup()
    assert result.outcome == oc.OracleFailed(turns=2)
    assert started == [1, 2] and ended == [(1, 6), (2, 6)]
    assert result.truncated_turns == 1 and result.tokens() == {"prompt": 200, "prefill": 120, "completion": 14}


def test_salvaged_markdown_counts_separately(tmp_path: Path) -> None:
    markdown = "Here is the fix for `answer.txt`:\n```text\n42\n```\n"
    result, _ = run(tmp_path, [markdown, FINISH])
    assert (result.salvaged_calls, result.strict_calls) == (1, 1)  # the write salvaged, finish strict
    assert result.outcome == oc.OraclePassed()


@pytest.mark.parametrize("bad", ["[1, 2]", '{"*": []}', "not json"])
def test_bad_script_files_are_clear_errors(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(bad)
    with pytest.raises(StudentError, match=str(path)):
        ScriptedStudent(path)


@pytest.mark.slow
@requires_cargo
def test_reference_passes_a_real_rust_fixture_through_the_tool_protocol() -> None:
    fixture = CORPUS / "unix__01-wc"
    before = tree_digest(fixture)
    result, diff = session(fixture, ReferenceStudent())
    assert result.outcome == oc.OraclePassed(), result.verdict and result.verdict.explain()
    assert result.strict_calls >= 2 and result.salvaged_calls == 0
    assert result.files_touched and diff.startswith("--- a/")
    assert tree_digest(fixture) == before
