"""The terminal summary over in-memory records: it claims no gate itself; gates come from the gate
logic with the project's gates.toml, or are not mentioned."""

from __future__ import annotations

from pathlib import Path

from pytest_arena.results.record import ItemRecord
from pytest_arena.results.summary import gate_lines, summary_lines

from .helpers import ROOT


def record(fixture: str, student: str, outcome: str, passed: bool, **extra: object) -> ItemRecord:
    fields: dict[str, object] = {
        "item": f"{fixture}[{student}]",
        "fixture": fixture,
        "class": fixture.partition("__")[0],
        "student": student,
        "student_spec": student,
        "temperature": 0.0,
        "top_k": 40,
        "top_p": 0.95,
        "min_p": 0.05,
        "repeat_penalty": 1.0,
        "seed": 0,
        "max_tokens": 64,
        "constrained": False,
        "outcome": outcome,
        "passed": passed,
    }
    return ItemRecord.model_validate(fields | extra)


def reference_run() -> list[ItemRecord]:
    return [
        record("leetcode__two_sum", "reference", "OraclePassed", True),
        record("unix__wc", "reference", "OraclePassed", True),
    ]


def test_a_reference_run_does_not_claim_v1_004() -> None:
    lines = summary_lines(reference_run())
    assert not any("V1_004" in line for line in lines), lines
    assert "  fixtures with a pass: 2/2" in lines


def test_gates_are_decided_by_the_gate_logic_with_gates_toml() -> None:
    lines = gate_lines(reference_run(), ROOT / "gates.toml")
    assert "gate V1_004: NO EVIDENCE (0 of 2 runs selected)" in lines
    assert "gate V1_004_amended: NO EVIDENCE (0 of 2 runs selected)" in lines
    assert not any("V1_004" in line and "PASS" in line for line in lines)


def test_a_gate_holds_only_on_runs_it_selects() -> None:
    qwen = [
        record("leetcode__two_sum", "qwen", "OraclePassed", True, student_info={"gguf_architecture": "qwen3moe"}),
        record("unix__wc", "qwen", "OracleFailed", False, student_info={"gguf_architecture": "qwen3moe"}),
    ]
    lines = gate_lines(qwen, ROOT / "gates.toml")
    assert any(line.startswith("gate V1_004_amended: ") and "(2 of 2 runs selected)" in line for line in lines), lines


def test_no_gates_file_no_gate_lines(tmp_path: Path) -> None:
    assert gate_lines(reference_run(), tmp_path / "gates.toml") == []


def test_a_broken_gates_file_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "gates.toml"
    broken.write_text("[gates.x]\nnosuch = 1\n")
    (line,) = gate_lines(reference_run(), broken)
    assert line.startswith("gates: ") and "nosuch" in line
