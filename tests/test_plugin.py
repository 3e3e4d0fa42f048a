"""pytest --arena as users type it, in a subprocess: selection, status words, JUnit, xdist."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from .helpers import (
    CORPUS,
    FINISH,
    STARTERS,
    junit_cases,
    reference_vs_finish,
    requires_cargo,
    run_pytest,
    tree_digest,
    write_script,
)

pytestmark = requires_cargo


def copy_corpus(dest: Path, ids: tuple[str, ...] = STARTERS) -> Path:
    for fixture_id in ids:
        shutil.copytree(CORPUS / fixture_id, dest / fixture_id, ignore=shutil.ignore_patterns("target"))
    return dest


def starter_paths() -> list[str]:
    return [str(CORPUS / s) for s in STARTERS]


@pytest.mark.slow
def test_reference_passes_every_starter_and_junit_carries_properties(tmp_path: Path) -> None:
    before = tree_digest(CORPUS)
    junit = tmp_path / "junit.xml"
    run = run_pytest(
        "--arena",
        "--arena-student",
        "reference",
        f"--junitxml={junit}",
        f"--arena-reports={tmp_path / 'reports'}",
        "-v",
        *starter_paths(),
    )
    assert run.returncode == 0, run.output
    assert f"{len(STARTERS)} passed" in run.output
    cases = junit_cases(junit)
    assert len(cases) == len(STARTERS)
    for name, props in cases.items():
        assert props["arena.outcome"] == "OraclePassed", name
        assert props["arena.class"] == name.split("__")[0]
        assert int(props["arena.turns"]) >= 2
    runs = [p for p in (tmp_path / "reports").iterdir() if p.name != "latest"]
    assert len(runs) == 1 and (tmp_path / "reports" / "latest").resolve() == runs[0].resolve()
    assert len((runs[0] / "results.jsonl").read_text().splitlines()) == len(STARTERS)
    assert len(list(runs[0].glob("trajectories/*.json"))) == len(STARTERS)
    assert tree_digest(CORPUS) == before


@pytest.mark.slow
def test_finish_only_fails_every_fixture_as_oracle_failed(tmp_path: Path) -> None:
    script = write_script(tmp_path / "finish.json", {"*": [FINISH]})
    run = run_pytest(
        "--arena", "--arena-student", f"scripted:{script}", "-v", f"--arena-reports={tmp_path}", *starter_paths()
    )
    assert run.returncode == 1
    assert len(re.findall(r"ORACLE_FAILED", run.output)) >= len(STARTERS)
    assert f"outcomes: {len(STARTERS)} OracleFailed" in run.output
    assert "arena outcome ORACLE_FAILED" in run.output and "assert tests exit 0" in run.output


@pytest.mark.slow
def test_talk_only_fails_as_text_loop(tmp_path: Path) -> None:
    script = write_script(tmp_path / "talk.json", {"*": ["The bug is probably an off-by-one."]})
    run = run_pytest(
        "--arena",
        "--arena-student",
        f"scripted:{script}",
        "-v",
        f"--arena-reports={tmp_path}",
        str(CORPUS / STARTERS[0]),
    )
    assert run.returncode == 1
    assert "TEXTLOOP" in run.output and "AgentTextLoop(consecutive_text_turns=4" in run.output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (["-k", "two_sum"], ["leetcode__01-two-sum"]),
        (["-m", "oo"], ["oo__01-bank-account"]),
        (["-m", "unix or transpile"], ["transpile__02-csv-to-jsonl", "unix__01-wc"]),
    ],
)
def test_k_and_m_select_fixtures(tmp_path: Path, selection: list[str], expected: list[str]) -> None:
    run = run_pytest(
        "--arena",
        "--arena-student",
        "reference",
        "--collect-only",
        "-q",
        f"--arena-reports={tmp_path}",
        *selection,
        *starter_paths(),
    )
    collected = sorted(re.findall(r"::(\S+)\[", run.output))
    assert collected == expected, run.output


@pytest.mark.slow
def test_xdist_gives_the_same_outcomes(tmp_path: Path) -> None:
    script = write_script(
        tmp_path / "mixed.json",
        {
            "leetcode__01-two-sum": [FINISH],
            "*": ["only talk"],
        },
    )
    outcomes = {}
    for workers in ("0", "2"):
        junit = tmp_path / f"junit-{workers}.xml"
        run = run_pytest(
            "--arena",
            "-n",
            workers,
            "--arena-student",
            "reference",
            "--arena-student",
            f"scripted:{script}",
            f"--junitxml={junit}",
            f"--arena-reports={tmp_path / workers}",
            *starter_paths(),
        )
        assert run.returncode == 1, run.output
        outcomes[workers] = {k: v["arena.outcome"] for k, v in junit_cases(junit).items()}
        records = (tmp_path / workers / "latest" / "results.jsonl").read_text().splitlines()
        assert len(records) == 2 * len(STARTERS)
    assert outcomes["0"] == outcomes["2"]
    assert sorted(set(outcomes["0"].values())) == ["AgentTextLoop", "OracleFailed", "OraclePassed"]


@pytest.mark.slow
def test_broken_meta_fails_only_that_fixture(tmp_path: Path) -> None:
    corpus = copy_corpus(tmp_path / "corpus", ("unix__01-wc",))
    broken = shutil.copytree(corpus / "unix__01-wc", corpus / "unix__09-broken")
    meta = broken / "meta.toml"
    meta.write_text(
        meta.read_text()
        .replace('id = "unix__01-wc"', 'id = "unix__09-broken"')
        .replace("max_turns = 20", 'max_turns = "twenty"')
    )
    run = run_pytest("--arena", "--arena-student", "reference", f"--arena-reports={tmp_path / 'r'}", str(corpus))
    assert run.returncode == 1
    assert "1 passed" in run.output and "1 error" in run.output
    assert f"{meta}: key 'max_turns'" in run.output and "Fix:" in run.output
    assert "Traceback" not in run.output


@pytest.mark.slow
def test_without_arena_meta_files_are_not_collected(tmp_path: Path) -> None:
    corpus = copy_corpus(tmp_path / "corpus", ("unix__01-wc",))
    run = run_pytest(str(corpus), cwd=tmp_path)
    assert run.returncode == 5 and "no tests ran" in run.output


@pytest.mark.slow
def test_arena_alone_collects_the_arena_root_not_tests(tmp_path: Path) -> None:
    copy_corpus(tmp_path / "fixtures", ("unix__01-wc",))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_own.py").write_text("def test_own():\n    pass\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    arena = run_pytest("--arena", "--collect-only", "-q", "--arena-student", "reference", cwd=tmp_path)
    plain = run_pytest("--collect-only", "-q", cwd=tmp_path)
    assert "unix__01-wc[reference-t0-s0]" in arena.output and "test_own" not in arena.output
    assert "test_own" in plain.output and "unix__01-wc" not in plain.output


@pytest.mark.slow
def test_outcome_marker_and_session_finish_hook(tmp_path: Path) -> None:
    copy_corpus(tmp_path / "fixtures", ("unix__01-wc",))
    log = tmp_path / "seen.json"
    (tmp_path / "conftest.py").write_text(
        "import json\n"
        "seen = []\n"
        "def pytest_arena_session_finish(item, result):\n"
        "    seen.append(['hook', result.outcome.name])\n"
        "def pytest_runtest_teardown(item):\n"
        "    seen.extend(['marker', m.args[0]] for m in item.iter_markers('arena_outcome'))\n"
        f"    open({str(log)!r}, 'w').write(json.dumps(seen))\n"
    )
    run = run_pytest("--arena", "--arena-student", "reference", "-p", "no:xdist", cwd=tmp_path)
    assert run.returncode == 0, run.output
    assert json.loads(log.read_text()) == [["hook", "OraclePassed"], ["marker", "OraclePassed"]]


@pytest.mark.slow
def test_unknown_student_is_one_clear_setup_error(tmp_path: Path) -> None:
    copy_corpus(tmp_path / "fixtures", ("unix__01-wc",))
    run = run_pytest(
        "--arena", "--arena-student", "nosuch:thing", "--arena-student", "scripted:missing.json", cwd=tmp_path
    )
    assert run.returncode == 1 and "2 errors" in run.output
    assert "no student backend understands 'nosuch:thing'" in run.output
    assert "scripted student file not found" in run.output
    assert "Traceback" not in run.output


@pytest.mark.slow
def test_bad_option_is_a_usage_error(tmp_path: Path) -> None:
    run = run_pytest("--arena", "--arena-temperature", "hot", cwd=tmp_path)
    assert run.returncode == 4 and "expected a comma list of numbers" in run.output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("selection", "count", "prefix"),
    [
        (["-m", "unix", "--arena-root=fixtures/under-contract"], 5, "unix__"),
        (["-k", "transpile__05"], 1, "transpile__05-regex-to-glob"),
        (["-k", "t0.2 and two_sum"], 1, "leetcode__01-two-sum"),
    ],
)
def test_selection_over_the_whole_corpus(tmp_path: Path, selection: list[str], count: int, prefix: str) -> None:
    run = run_pytest(
        "--arena",
        "--arena-student",
        "reference",
        "--arena-temperature",
        "0,0.2",
        "--arena-seed",
        "0,3",
        "--collect-only",
        "-q",
        f"--arena-reports={tmp_path}",
        *selection,
    )
    names = re.findall(r"::(\S+\[\S+\])", run.output)
    temperatures = 1 if "t0.2" in " ".join(selection) else 2
    assert len(names) == count * temperatures * 2, run.output
    assert all(n.startswith(prefix) for n in names)
    if temperatures == 1:
        assert sorted(names) == [f"leetcode__01-two-sum[reference-t0.2-s{s}]" for s in (0, 3)]


@pytest.mark.slow
def test_python_corpus_reference_and_finish_only(tmp_path: Path) -> None:
    run, junit = reference_vs_finish(tmp_path, "--arena-root=fixtures/python", f"--arena-reports={tmp_path}")
    outcomes = [
        (name.split("[")[1].split("-t")[0], props["arena.outcome"]) for name, props in junit_cases(junit).items()
    ]
    assert sorted(outcomes) == [("reference", "OraclePassed")] * 10 + [("scripted-finish", "OracleFailed")] * 10, (
        run.output
    )


@pytest.mark.slow
def test_sandbox_none_warns_loudly(tmp_path: Path) -> None:
    run = run_pytest(
        "--arena",
        "--arena-student",
        "reference",
        "--arena-sandbox",
        "none",
        "-k",
        "two_sum",
        f"--arena-reports={tmp_path}",
    )
    assert run.returncode == 0, run.output
    assert "ARENA SANDBOX DISABLED" in run.output
