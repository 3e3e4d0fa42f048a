"""CI shards (issue 22, item 4): ``--arena-shard I/N`` runs a stable share of the fixtures, each
record names its shard, and ``arena-report`` / ``arena-gate`` merge the shards' run folders into one
report and one decision, naming an item recorded twice and a shard that left nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_arena.engine.shard import Shard
from pytest_arena.items import ArenaItem
from pytest_arena.option_types import PARSERS, OptionError
from pytest_arena.results import gate, report
from pytest_arena.results.junit import DUPLICATES_NAMED, load_inputs
from pytest_arena.results.record import ItemRecord

from .helpers import ROOT, fault_probe, run_pytest

PYTHON_CORPUS = ROOT / "fixtures" / "python"
EXAMPLE = ROOT / "examples" / "ci"
BIN = Path(sys.executable).parent


# -- the option ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0/2", "I = 0: 2 shards are numbered 1/2 to 2/2"),
        ("3/2", "I = 3: 2 shards are numbered 1/2 to 2/2"),
        ("a/b", "expected I/N, two whole numbers with 1 <= I <= N, e.g. 1/4"),
        ("1/0", "N = 0: expected at least one shard, e.g. 1/1"),
        ("2", "expected I/N, two whole numbers with 1 <= I <= N, e.g. 1/4"),
    ],
)
def test_a_bad_shard_is_one_line_naming_the_option(value: str, expected: str, pytester: pytest.Pytester) -> None:
    with pytest.raises(OptionError) as raised:
        PARSERS["arena-shard"]("arena-shard", value)
    assert str(raised.value) == f"--arena-shard={value!r}: {expected}"
    for args in (["--arena-shard", value], ["-o", f"arena_shard={value}"]):  # the option and the ini key
        run = pytester.runpytest_inprocess("--arena", f"--arena-root={PYTHON_CORPUS}", "--collect-only", *args)
        output = str(run.stdout) + str(run.stderr)
        assert not fault_probe(f"--arena-shard {value}", output), output
        assert run.ret == pytest.ExitCode.USAGE_ERROR and expected in output, output


def test_a_shard_parses_and_holds_the_fixtures_of_its_bucket() -> None:
    assert Shard.parse(" 2 / 3 ") == Shard(2, 3) and Shard(2, 3).text == "2/3"
    assert PARSERS["arena-shard"]("arena-shard", "") is None  # the default: every item
    for fixture in ("leetcode__01-roman-numerals", "unix__02-tr"):
        assert len([i for i in range(1, 4) if Shard(i, 3).holds(fixture)]) == 1


def _collected(pytester: pytest.Pytester, *args: str) -> tuple[list[str], int]:
    _, reprec = pytester.inline_genitems(
        "--arena", f"--arena-root={PYTHON_CORPUS}", "--arena-student=reference", "--arena-seed=0,1", *args
    )
    (finished,) = reprec.getcalls("pytest_collection_finish")  # the items left to run
    deselected = sum(len(call.items) for call in reprec.getcalls("pytest_deselected"))
    return [item.nodeid for item in finished.session.items if isinstance(item, ArenaItem)], deselected


@pytest.mark.parametrize("count", [2, 3])
def test_shards_split_the_items_whole_fixtures_at_a_time(pytester: pytest.Pytester, count: int) -> None:
    everything, none = _collected(pytester)
    assert len(everything) == 20 and none == 0  # 10 fixtures x 2 seeds
    shares = []
    for index in range(1, count + 1):
        # the ini key for one of them: it selects the same way
        args = [f"--arena-shard={index}/{count}"] if index > 1 else ["-o", f"arena_shard={index}/{count}"]
        share, deselected = _collected(pytester, *args)
        assert deselected == len(everything) - len(share)  # reported as deselected, like -k
        shares.append(share)
    assert sorted(n for share in shares for n in share) == sorted(everything)  # every item in one shard
    fixtures = [{n.rpartition("::")[2].partition("[")[0] for n in share} for share in shares]
    assert sum(map(len, fixtures)) == 10  # all variants of a fixture in the same shard


# -- the merge -------------------------------------------------------------------------------------


def _record(fixture: str, shard: str, passed: bool = True, student: str = "reference") -> ItemRecord:
    return ItemRecord.model_validate(
        {
            "item": f"{fixture}[{student}-t0-s0]", "fixture": fixture, "class": fixture.partition("__")[0],
            "student": student, "student_spec": student, "temperature": 0.0, "top_k": 40, "top_p": 0.95,
            "min_p": 0.05, "repeat_penalty": 1.0, "seed": 0, "max_tokens": 512, "constrained": False,
            "outcome": "OraclePassed" if passed else "OracleFailed", "passed": passed, "shard": shard,
            "fixture_sha256": "f" * 64,
        }
    )  # fmt: skip


def _run_dir(folder: Path, *records: ItemRecord) -> Path:
    folder.mkdir(parents=True)
    lines = [json.dumps(r.model_dump(by_alias=True)) + "\n" for r in records]
    (folder / "results.jsonl").write_text("".join(lines), encoding="utf-8")
    return folder


def test_shards_merge_each_item_keeping_its_run_folder(tmp_path: Path) -> None:
    one = _run_dir(tmp_path / "one", _record("a__01-x", "1/2"), _record("a__02-y", "1/2"))
    two = _run_dir(tmp_path / "two", _record("b__01-z", "2/2", passed=False))
    evidence = load_inputs([one, two])
    assert [r.fixture for r in evidence.records] == ["a__01-x", "a__02-y", "b__01-z"]
    assert evidence.warnings == [] and evidence.replaced == 0
    assert evidence.run_dirs == {"a__01-x[reference-t0-s0]": one, "a__02-y[reference-t0-s0]": one,
                                 "b__01-z[reference-t0-s0]": two}  # fmt: skip


def test_an_item_in_two_run_folders_takes_the_latest_and_says_so(tmp_path: Path) -> None:
    one = _run_dir(tmp_path / "one", _record("a__01-x", "1/2", passed=False))
    two = _run_dir(tmp_path / "two", _record("a__01-x", "1/2"), _record("b__01-z", "2/2"))
    evidence = load_inputs([one, two])
    assert fault_probe("an item in two shards' run folders", "\n".join(evidence.warnings)) is False
    item = "a__01-x[reference-t0-s0]"
    assert evidence.warnings == [f"{item}: recorded in both {one} and {two}; the later one ({two}) is taken"]
    assert evidence.replaced == 1 and evidence.records[0].passed and evidence.run_dirs[item] == two


def test_items_in_two_inputs_are_named_up_to_a_limit(tmp_path: Path) -> None:
    records = [_record(f"a__{n:02d}-x", "1/1") for n in range(DUPLICATES_NAMED + 5)]
    one, two = _run_dir(tmp_path / "one", *records), _run_dir(tmp_path / "two", *records)
    warnings = load_inputs([one, two]).warnings
    assert len(warnings) == DUPLICATES_NAMED + 1 and warnings[-1] == "... and 5 more items recorded in two inputs"


def test_a_missing_shard_is_named_by_the_report_and_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = _run_dir(tmp_path / "one", _record("a__01-x", "1/3"))
    three = _run_dir(tmp_path / "three", _record("c__01-x", "3/3"))
    missing = "shard 2/3 missing: no records from it"
    gates = tmp_path / "gates.toml"
    gates.write_text('[gates.g]\nmin_pass_at_1 = 1.0\n[gates.g.select]\nstudent = "reference"\n')
    assert gate.main([str(one), str(three), "--gates", str(gates)]) == 0  # a warning, not a decision
    shown = capsys.readouterr()
    assert not fault_probe("a missing shard, arena-gate", shown.out + shown.err)
    assert f"  warning: {missing}" in shown.out
    assert report.main([str(one), str(three), "--out", str(tmp_path / "merged")]) == 0
    shown = capsys.readouterr()
    assert f"arena-report: warning: {missing}" in shown.err
    summary = (tmp_path / "merged" / "summary.md").read_text()
    assert f"Warning: {missing}" in summary and "Shards (--arena-shard): 1/3, 3/3." in summary


def test_shard_sets_of_two_sizes_are_named(tmp_path: Path) -> None:
    one = _run_dir(tmp_path / "one", _record("a__01-x", "1/1"))
    half = _run_dir(tmp_path / "half", _record("b__01-x", "1/2"), _record("c__01-x", "2/2"))
    warnings = load_inputs([one, half]).warnings
    assert warnings == [
        "records come from shard sets of different sizes (of 1, of 2): were runs of two campaigns merged?"
    ]
    unsharded = _run_dir(tmp_path / "plain", _record("d__01-x", ""))
    assert load_inputs([unsharded]).warnings == []  # records without a shard ask for none


# -- the example CI workflow, run here: two shards of the reference student against one run --------


def _workflow() -> dict[str, dict[str, dict[str, object]]]:
    yaml = pytest.importorskip("yaml")  # PyYAML comes with the dev extra (gguf)
    loaded = yaml.safe_load((EXAMPLE / "arena-shards.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _runs(job: dict[str, object]) -> list[str]:
    steps = job["steps"]
    assert isinstance(steps, list)
    return [str(step["run"]) for step in steps if "run" in step and "./run setup" not in step["run"]]


def _here(command: str) -> str:
    """A workflow command as this checkout runs it: its tools from this interpreter's folder."""
    return command.replace(".venv/bin/", f"{BIN}/")


def _bash(command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))} | env
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=environ, capture_output=True, text=True, timeout=900)


def _numbers(summary: Path) -> list[str]:
    """summary.md without what names the run folders: the title, the inputs, the shards, run ids."""
    lines = summary.read_text().splitlines()[1:]
    return [
        line for line in lines
        if not line.startswith(("- Read from:", "- Shards")) and not re.match(r"\| \d{8}-\d{6}-", line)
    ]  # fmt: skip


def _decision(output: str) -> list[str]:
    """arena-gate's output from the gates on: the inputs it lists above differ."""
    lines = output.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("gates: ")) + 1 :]


def test_the_readme_merge_commands_are_the_workflows() -> None:
    from .test_readme import COMMANDS

    merge = [c.replace(".venv/bin/", "") for c in _runs(_workflow()["jobs"]["merge"])]
    assert merge and [c for c in COMMANDS if "shards/" in c] == merge


@pytest.mark.slow
def test_two_reference_shards_merge_to_the_numbers_of_one_run(tmp_path: Path) -> None:
    jobs = _workflow()["jobs"]
    matrix = jobs["shard"]["strategy"]
    assert isinstance(matrix, dict)
    shards = matrix["matrix"]["shard"]
    (command,) = _runs(jobs["shard"])
    count = int(re.search(r"--arena-shard \$\{\{ matrix.shard \}\}/(\d+)", command)[1])  # type: ignore[index]
    assert shards == list(range(1, count + 1)) == [1, 2]
    merge_dir = tmp_path / "merge"
    for shard in shards:  # each job on its own runner: reports/ of its checkout, uploaded, downloaded
        runner = tmp_path / f"runner-{shard}" / "reports"
        job = _bash(_here(command.replace("${{ matrix.shard }}", str(shard))), ROOT,
                    PYTEST_ADDOPTS=f"-p no:cacheprovider --arena-reports={runner}")  # fmt: skip
        assert job.returncode == 0 and "5 passed" in job.stdout, job.stdout + job.stderr
        assert f"shard {shard}/2 (--arena-shard): 5 items of this share;" in job.stdout
        (run_dir,) = [p for p in runner.iterdir() if p.is_dir() and not p.is_symlink()]
        shutil.copytree(run_dir, merge_dir / "shards" / f"arena-shard-{shard}" / run_dir.name)
    shutil.copytree(EXAMPLE, merge_dir / "examples" / "ci")  # the merge job's checkout: its gates file
    report_cmd, gate_cmd = _runs(jobs["merge"])
    merged_report = _bash(_here(report_cmd), merge_dir)
    merged_gate = _bash(_here(gate_cmd), merge_dir)
    assert merged_report.returncode == 0 and "warning" not in merged_report.stderr, merged_report.stderr
    assert merged_gate.returncode == 0 and "warning" not in merged_gate.stdout, merged_gate.stdout

    whole = run_pytest("--arena", "-n", "2", "--arena-root", "fixtures/python", "--arena-student", "reference",
                       f"--arena-reports={tmp_path / 'whole'}")  # fmt: skip
    assert whole.returncode == 0, whole.output
    one_report = _bash(_here(report_cmd.replace("shards/*/*/", f"{tmp_path / 'whole' / 'latest'}")).replace(
        "--out merged", f"--out {tmp_path / 'one'}"), merge_dir)  # fmt: skip
    one_gate = _bash(_here(gate_cmd.replace("shards/*/*/", f"{tmp_path / 'whole' / 'latest'}")), merge_dir)
    assert one_report.returncode == 0 and one_gate.returncode == 0, one_report.stderr + one_gate.stdout
    assert _numbers(merge_dir / "merged" / "summary.md") == _numbers(tmp_path / "one" / "summary.md")
    assert _decision(merged_gate.stdout) == _decision(one_gate.stdout)
    assert "reference_solves_every_fixture  PASS" in merged_gate.stdout and "10  10/10" in merged_gate.stdout
    # every item's page, its trajectory read from the run folder of the shard that ran it
    pages = sorted(p.name for p in (merge_dir / "merged" / "items").glob("*.html"))
    assert len(pages) == 11 and "index.html" in pages
    assert "file_write" in (merge_dir / "merged" / "items" / "unix__02-tr_reference-t0-s0_.html").read_text()

    # shard 2's artifact lost: both tools name it
    shutil.rmtree(merge_dir / "shards" / "arena-shard-2")
    missing = "shard 2/2 missing: no records from it"
    assert missing in _bash(_here(report_cmd), merge_dir).stderr
    assert missing in _bash(_here(gate_cmd), merge_dir).stdout


def test_the_record_of_an_item_whose_worker_died_names_the_shard(tmp_path: Path) -> None:
    from pytest_arena.progress import mark_crash
    from pytest_arena.recorder import RunRecorder
    from pytest_arena.results.writer import RunWriter

    nodeid = "fixtures/python/unix__02-tr/meta.toml::unix__02-tr[reference-t0-s0]"
    crash = pytest.TestReport(nodeid, ("x", 0, "x"), {}, "failed", "worker 'gw0' crashed", "call", [])
    mark_crash(nodeid, crash)
    recorder = RunRecorder(RunWriter(tmp_path, "run"), tmp_path / "gates.toml", shard="2/2")
    recorder.pytest_runtest_logreport(crash)
    recorder.writer.close()
    (record,) = load_inputs([tmp_path / "run"]).records
    assert record.outcome == "DriverError" and record.shard == "2/2"
