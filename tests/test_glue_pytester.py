"""The pytest glue, driven with pytester in a throwaway project: per-item hooks scoped by a
conftest beside a sub-corpus, one run object registered and unregistered, xdist_group markers
under -n, and the arena_student_pool fixture in a user's own test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .helpers import ROOT, tiny_fixture

PYTHON_CORPUS = ROOT / "fixtures" / "python"
FIXTURE = "unix__01-uniq"


@pytest.fixture
def corpus(pytester: pytest.Pytester) -> Path:
    """A corpus with one fixture at the top and one under sub/ (which has its own conftest)."""
    root = pytester.path / "corpus"
    shutil.copytree(PYTHON_CORPUS / FIXTURE, root / FIXTURE)
    shutil.copytree(PYTHON_CORPUS / "unix__02-tr", root / "sub" / "unix__02-tr")
    (root / "sub" / "conftest.py").write_text(
        "def pytest_arena_session_finish(item, result):\n"
        "    with open(item.config.rootpath / 'finished.txt', 'a') as f:\n"
        "        f.write(item.name + ' ' + result.outcome.name + '\\n')\n"
    )
    return root


@pytest.mark.slow
def test_per_item_hooks_are_scoped_by_a_conftest_and_the_recorder_is_unregistered(
    pytester: pytest.Pytester, corpus: Path
) -> None:
    result = pytester.inline_run(
        "--arena", "--arena-student", "reference", "--arena-reports", str(pytester.path / "reports"), str(corpus)
    )
    result.assertoutcome(passed=2)
    # Only the item under sub/ saw sub/conftest.py's hook: it goes through item.ihook.
    assert (pytester.path / "finished.txt").read_text().splitlines() == ["unix__02-tr[reference-t0-s0] OraclePassed"]
    (config,) = [call.config for call in result.getcalls("pytest_unconfigure")]
    assert config.pluginmanager.get_plugin("arena-recorder") is None


@pytest.mark.slow
def test_the_summary_of_a_reference_run_claims_no_gate(pytester: pytest.Pytester, corpus: Path) -> None:
    def reference_run() -> pytest.RunResult:
        reports = str(pytester.path / "reports")
        args = ("--arena", "--arena-student", "reference", "--arena-reports", reports, str(corpus / FIXTURE))
        return pytester.runpytest_subprocess(*args)

    run = reference_run()
    run.assert_outcomes(passed=1)
    assert "V1_004" not in run.stdout.str()  # no gates.toml in this project: no gate mentioned
    shutil.copy(ROOT / "gates.toml", pytester.path / "gates.toml")
    reference_run().stdout.fnmatch_lines(["gate V1_004: NO EVIDENCE (0 of 1 runs selected)"])


@pytest.mark.slow
def test_items_carry_an_xdist_group_per_student_and_fixture(pytester: pytest.Pytester, corpus: Path) -> None:
    pytester.makeconftest(
        "def pytest_collection_finish(session):\n"
        "    import os\n"
        "    if hasattr(session.config, 'workerinput'):\n"
        "        marks = sorted(m.args[0] for i in session.items for m in i.iter_markers('xdist_group'))\n"
        "        (session.config.rootpath / ('groups-' + os.environ['PYTEST_XDIST_WORKER'])).write_text(str(marks))\n"
    )
    run = pytester.runpytest_subprocess(
        "--arena", "-n", "1", "--arena-student", "reference", "--arena-reports", str(pytester.path / "r"), str(corpus)
    )
    run.assert_outcomes(passed=2)
    fixtures = sorted(meta.parent.name for meta in corpus.rglob("meta.toml"))
    assert len(fixtures) == 2
    assert (pytester.path / "groups-gw0").read_text() == str([f"reference-{fixture}" for fixture in fixtures])


def test_a_user_test_drives_a_student_through_arena_student_pool(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        from pytest_arena import StudentConfig
        from pytest_arena.corpus import load_fixture
        from pytest_arena.protocol import parse_tool_calls

        def test_reference_writes_the_solution(arena_student_pool):
            student = arena_student_pool.get("reference")
            assert arena_student_pool.get("reference") is student  # made once, reused
            student.start(load_fixture({str(PYTHON_CORPUS / FIXTURE)!r}), StudentConfig())
            turn = student.generate([{{"role": "user", "content": "go"}}], StudentConfig())
            (call,) = parse_tool_calls(turn.text)
            assert call.name == "file_write"
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.slow
@pytest.mark.parametrize("key", ["arena_root", "arena-root"])
def test_ini_keys_use_underscores_and_dashed_ones_still_work(pytester: pytest.Pytester, corpus: Path, key: str) -> None:
    pytester.makeini(f"[pytest]\n{key} = corpus/sub\n")
    run = pytester.runpytest_subprocess("--arena", "--arena-student", "reference", "--co")
    run.stdout.fnmatch_lines(["*unix__02-tr*reference-t0-s0*"])
    deprecated = "ini key 'arena-root' is deprecated: spell it 'arena_root'"
    assert (deprecated in run.stdout.str()) == (key == "arena-root")


def test_an_item_failing_at_setup_reaches_session_finish(pytester: pytest.Pytester) -> None:
    """As the README and the example plugin say: a student that cannot load is a DriverError that
    session_finish observers see, with no turns."""
    root = tiny_fixture(pytester.path / "corpus")
    pytester.makeconftest(
        "def pytest_arena_session_finish(item, result):\n"
        "    with open(item.config.rootpath / 'finished.txt', 'a') as f:\n"
        "        f.write(f'{result.outcome.name} {len(result.turns)}\\n')\n"
    )
    missing = pytester.path / "missing.gguf"
    pytester.inline_run("--arena", f"--arena-student=llama:{missing}", "--arena-reports", "reports", str(root))
    assert (pytester.path / "finished.txt").read_text().splitlines() == ["DriverError 0"]
