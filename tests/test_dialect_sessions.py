"""Whole arena runs under each dialect: scripted students that speak Qwen3-Coder XML, Llama 3 JSON
and Mistral [TOOL_CALLS] solve a real Python fixture (real oracle, real ruff/mypy), a dialect sweep
yields one item per dialect, and `native` for a local student is a usage error before anything runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_arena.engine.commands import toolchain_env
from pytest_arena.engine.dialects import DIALECTS
from pytest_arena.engine.protocol import ToolCall

from .helpers import ROOT, junit_cases, run_module, run_pytest, write_script

FIXTURE = ROOT / "fixtures" / "python" / "leetcode__01-roman-numerals"
SOLUTION = (FIXTURE / "solution" / "roman" / "__init__.py").read_text(encoding="utf-8")
WRITE = ToolCall("file_write", {"path": "roman/__init__.py", "content": SOLUTION})
FINISH = ToolCall("finish", {"summary": "fixed the subtractive pair at the end"})
needs_python_tools = pytest.mark.skipif(
    not all(shutil.which(tool, path=toolchain_env()["PATH"]) for tool in ("ruff", "mypy")),
    reason="the Python corpus needs ruff and mypy (pip install -e '.[dev]')",
)


def script(tmp_path: Path, dialect: str) -> Path:
    turns = [DIALECTS[dialect].render_calls([WRITE]), DIALECTS[dialect].render_calls([FINISH])]
    return write_script(tmp_path / f"{dialect}.json", {"*": turns})


def arena(tmp_path: Path, *args: str) -> tuple[dict[str, dict[str, str]], str]:
    junit = tmp_path / "junit.xml"
    run = run_pytest("--arena", f"--junitxml={junit}", f"--arena-reports={tmp_path / 'r'}", *args, str(FIXTURE))
    return (junit_cases(junit) if junit.exists() else {}), run.output


def test_the_qwen3_coder_script_writes_raw_multiline_python() -> None:
    text = DIALECTS["qwen3-coder"].render_calls([WRITE])
    assert "<parameter=content>\n" + SOLUTION in text and "\\n" not in text.split("<parameter=content>")[1][:80]


@pytest.mark.slow
@needs_python_tools
def test_qwen3_coder_student_passes_under_its_dialect_and_fails_under_arena(tmp_path: Path) -> None:
    student = script(tmp_path, "qwen3-coder")
    cases, output = arena(tmp_path, f"--arena-student=scripted:{student}", "--arena-dialect=arena,qwen3-coder")
    fixture = FIXTURE.name
    assert set(cases) == {
        f"{fixture}[scripted-qwen3-coder-t0-s0-arena]",
        f"{fixture}[scripted-qwen3-coder-t0-s0-qwen3-coder]",
    }
    native = cases[f"{fixture}[scripted-qwen3-coder-t0-s0-qwen3-coder]"]
    assert native["arena.outcome"] == "OraclePassed", output
    assert (native["arena.dialect"], native["arena.dialect_source"]) == ("qwen3-coder", "option")
    assert (native["arena.strict_calls"], native["arena.salvaged_calls"], native["arena.well_formed_turns"]) == (
        "2",
        "0",
        "2",
    )
    house = cases[f"{fixture}[scripted-qwen3-coder-t0-s0-arena]"]
    assert house["arena.outcome"] == "AgentTextLoop" and house["arena.well_formed_turns"] == "0"
    trajectory = json.loads((tmp_path / "r" / "latest" / native["arena.trajectory"]).read_text())
    assert "<function=example_function_name>" in trajectory["rendered_prompt"]  # the XML instructions
    # The A/B comparison: in the terminal summary and in arena-report.
    assert "scripted-qwen3-coder [qwen3-coder]: 1 items, pass@1 1/1" in output
    assert "scripted-qwen3-coder [arena]: 1 items, pass@1 0/1 = 0% [0%, 79%]; tool-call rate 0/4 turns" in output
    report = run_module("pytest_arena.results.report", tmp_path / "r" / "latest")
    assert report.returncode == 0, report.output
    summary = (tmp_path / "r" / "latest" / "summary.md").read_text(encoding="utf-8")
    assert "Dialects side by side" in summary and "| scripted-qwen3-coder | qwen3-coder | 1 |" in summary


@pytest.mark.slow
@needs_python_tools
@pytest.mark.parametrize("dialect", ["llama3", "mistral"])
def test_llama3_and_mistral_students_pass_under_their_dialect(tmp_path: Path, dialect: str) -> None:
    student = script(tmp_path, dialect)
    cases, output = arena(tmp_path, f"--arena-student=scripted:{student}", f"--arena-dialect={dialect}")
    (props,) = cases.values()  # one dialect: the item id carries none
    assert next(iter(cases)) == f"{FIXTURE.name}[scripted-{dialect}-t0-s0]"
    assert props["arena.outcome"] == "OraclePassed", output
    assert (props["arena.dialect"], props["arena.strict_calls"], props["arena.salvaged_calls"]) == (dialect, "2", "0")


@pytest.mark.slow
def test_native_with_a_local_student_is_a_usage_error(tmp_path: Path) -> None:
    run = run_pytest("--arena", "--arena-student=default", "--arena-dialect=native", str(FIXTURE), timeout=120)
    assert run.returncode == 4, run.output
    assert "--arena-dialect native: student 'default'" in run.output and "Traceback" not in run.output
    unknown = run_pytest("--arena", "--arena-dialect=klingon", str(FIXTURE), timeout=120)
    assert unknown.returncode == 4 and "unknown dialect 'klingon'" in unknown.output


@pytest.mark.slow
@needs_python_tools
def test_reference_passes_in_every_dialect_it_is_given(tmp_path: Path) -> None:
    cases, output = arena(tmp_path, "--arena-student=reference", "--arena-dialect=pythonic,hermes")
    assert sorted(c["arena.outcome"] for c in cases.values()) == ["OraclePassed", "OraclePassed"], output
    assert {c["arena.dialect"] for c in cases.values()} == {"pythonic", "hermes"}
