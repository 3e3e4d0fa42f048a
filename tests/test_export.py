"""arena-report --export sft|dpo from real runs on a fixture of a few shell lines: a reference pass and
a scripted failure on the same fixture, and one student (two recordings of it replayed) that passes
at one seed and fails at another."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from .helpers import FINISH, run_pytest, tiny_fixture, write_script
from .test_report import report


@dataclass
class Runs:
    mixed: Path  # reference + scripted-finish, seed 0
    junit: Path
    passing: Path  # scripted-agent that writes the solution, seed 0
    failing: Path  # scripted-agent that only finishes, seed 1
    fixture: str
    solution: dict[str, str]
    directory: Path


def only_run_dir(reports: Path) -> Path:
    dirs = [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    tmp = tmp_path_factory.mktemp("export")
    directory = tiny_fixture(tmp)
    fixture, root = directory.name, directory / "solution"
    solution = {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file()
    }
    finish = write_script(tmp / "finish.json", {"*": [FINISH]})
    junit = tmp / "mixed.xml"
    mixed = run_pytest(
        "--arena",
        "--arena-student",
        "reference",
        "--arena-student",
        f"scripted:{finish}",
        f"--junitxml={junit}",
        f"--arena-reports={tmp / 'mixed'}",
        str(directory),
    )
    assert mixed.returncode == 1 and "1 failed, 1 passed" in mixed.output, mixed.output
    # Two recordings of one student ("scripted-agent"): it solved the task at seed 0, gave up at seed 1.
    (tmp / "good").mkdir()
    (tmp / "bad").mkdir()
    writes = [
        json.dumps({"name": "file_write", "input": {"path": path, "content": text}}) for path, text in solution.items()
    ]
    good = write_script(
        tmp / "good" / "agent.json",
        {fixture: ["I will read the code first.", *(f"<tool_call>\n{w}\n</tool_call>" for w in writes), FINISH]},
    )
    bad = write_script(tmp / "bad" / "agent.json", {fixture: [FINISH]})
    for script, seed, name, code in ((good, "0", "passing", 0), (bad, "1", "failing", 1)):
        result = run_pytest(
            "--arena",
            "--arena-student",
            f"scripted:{script}",
            "--arena-seed",
            seed,
            f"--arena-reports={tmp / name}",
            str(directory),
        )
        assert result.returncode == code, result.output
    return Runs(
        only_run_dir(tmp / "mixed"),
        junit,
        only_run_dir(tmp / "passing"),
        only_run_dir(tmp / "failing"),
        fixture,
        solution,
        directory,
    )


@pytest.mark.slow
def test_sft_keeps_passing_trajectories_as_chat(runs: Runs) -> None:
    result = report(runs.mixed, "--export", "sft")
    assert result.returncode == 0, result.output
    out = runs.mixed / "sft.jsonl"
    assert f"wrote 1 SFT conversation(s) to {out} (1 passing of 2 runs)" in result.stderr
    [line] = read_jsonl(out)
    assert (line["fixture"], line["student"]) == (runs.fixture, "reference")
    messages = line["messages"]
    roles = [m["role"] for m in messages]
    assert roles[:3] == ["system", "user", "assistant"] and roles[-1] == "assistant"
    assert all(a != b for a, b in itertools.pairwise(roles[2:]))  # assistant turns and tool results alternate
    assert "<tool_call>" in messages[0]["content"]  # the protocol's system prompt
    assert (runs.directory / "prompt.md").read_text(encoding="utf-8").strip()[:60] in messages[1]["content"]
    calls = [
        json.loads(m["content"].split("<tool_call>")[1].split("</tool_call>")[0])
        for m in messages
        if m["role"] == "assistant"
    ]
    assert {c["input"]["path"]: c["input"]["content"] for c in calls if c["name"] == "file_write"} == runs.solution
    assert calls[-1]["name"] == "finish"
    assert all("<tool_result" in m["content"] for m in messages[3::2])


@pytest.mark.slow
def test_dpo_needs_both_outcomes_from_one_student_and_says_why_not(runs: Runs, tmp_path: Path) -> None:
    out = tmp_path / "dpo.jsonl"
    result = report(runs.mixed, "--export", "dpo", "--out", out)
    assert result.returncode == 0, result.output
    assert out.read_text(encoding="utf-8") == ""
    assert f"wrote 0 DPO pair(s) to {out}" in result.stderr
    assert "Zero because no (fixture, student) has both a passing and a failing trajectory" in result.stderr
    assert f"only passing runs for reference on {runs.fixture}" in result.stderr
    assert f"only failing runs for scripted-finish on {runs.fixture}" in result.stderr
    assert "--teacher" in result.stderr


@pytest.mark.slow
def test_dpo_with_the_reference_as_teacher(runs: Runs, tmp_path: Path) -> None:
    out = tmp_path / "dpo.jsonl"
    result = report(runs.mixed, "--export", "dpo", "--teacher", "reference", "--out", out)
    assert result.returncode == 0, result.output
    assert "wrote 1 DPO pair(s)" in result.stderr and "1 with teacher 'reference' as chosen" in result.stderr
    [pair] = read_jsonl(out)
    assert (pair["fixture"], pair["student"]) == (runs.fixture, "scripted-finish")
    assert pair["chosen_item"] == f"{runs.fixture}[reference-t0-s0]"
    assert pair["rejected_item"] == f"{runs.fixture}[scripted-finish-t0-s0]"
    assert [m["role"] for m in pair["prompt"]] == ["system", "user"]
    [trajectory] = (runs.mixed / "trajectories").glob("*reference*.json")
    assert pair["prompt"] == json.loads(trajectory.read_text(encoding="utf-8"))["turns"][0]["prompt_delta"]
    assert pair["chosen"][0]["role"] == "assistant" and "file_write" in pair["chosen"][0]["content"]
    assert pair["rejected"] == [{"role": "assistant", "content": FINISH}]


@pytest.mark.slow
def test_dpo_pairs_one_students_pass_and_failure(runs: Runs, tmp_path: Path) -> None:
    out = tmp_path / "pairs.jsonl"
    result = report(runs.passing, runs.failing, "--export", "dpo", "--out", out)
    assert result.returncode == 0, result.output
    assert "wrote 1 DPO pair(s)" in result.stderr and "teacher" not in result.stderr
    [pair] = read_jsonl(out)
    assert pair["student"] == "scripted-agent"
    assert pair["chosen_item"] == f"{runs.fixture}[scripted-agent-t0-s0]"
    assert pair["rejected_item"] == f"{runs.fixture}[scripted-agent-t0-s1]"
    # the text turn and the nudge that answered it are part of the chosen conversation
    assert pair["chosen"][0] == {"role": "assistant", "content": "I will read the code first."}
    assert pair["chosen"][1]["role"] == "user" and "tool_call" in pair["chosen"][1]["content"]
    assert pair["rejected"] == [{"role": "assistant", "content": FINISH}]
    sft = report(
        runs.passing, runs.failing, "--export", "sft", "--student", "scripted-agent", "--out", tmp_path / "sft.jsonl"
    )
    assert sft.returncode == 0 and "wrote 1 SFT conversation(s)" in sft.stderr


@pytest.mark.slow
def test_export_refuses_junit_and_explains_zero_sft(runs: Runs, tmp_path: Path) -> None:
    result = report(runs.junit, "--export", "sft")
    assert result.returncode == 2 and "--export needs a run folder" in result.stderr
    out = tmp_path / "none.jsonl"
    result = report(runs.failing, "--export", "sft", "--out", out)
    assert result.returncode == 0 and out.read_text(encoding="utf-8") == ""
    assert "wrote 0 SFT conversation(s)" in result.stderr
    assert "Zero because no run passed (outcomes: 1 OracleFailed)" in result.stderr
    unknown = report(runs.mixed, "--export", "sft", "--student", "nobody")
    assert unknown.returncode == 2 and "--student nobody: not in the run" in unknown.stderr
