"""Bad input and faults found by probing as a new user would (issue 11): each one is refused before
any work with one line naming the option and the fix, or handled without losing a record. Every
probe goes into the fault tally (tests/conftest.py) printed at the end of the run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_arena.engine.baseline import baseline_for, cache_dir, cached, version_digest
from pytest_arena.engine.corpus import FixtureError, fixture_digest, load_fixture
from pytest_arena.engine.sandbox import Sandbox
from pytest_arena.engine.tempdirs import OWNER_FILE, clean_stale
from pytest_arena.engine.testresults import Baseline
from pytest_arena.engine.tools import Toolbox
from pytest_arena.engine.workspace import Workspace
from pytest_arena.results.run_folder import repair_torn_tail
from pytest_arena.results.trajectory import StoredTurn

from .helpers import (
    FINISH,
    ROOT,
    Cli,
    call,
    fault_probe,
    run_module,
    run_pytest,
    scripted_session,
    tiny_fixture,
    write_script,
)

PYTHON_CORPUS = ROOT / "fixtures" / "python"
CHEAP = ("unix__01-uniq", "unix__02-tr")  # Python fixtures: no compiler in the loop


def cheap_args(*names: str) -> list[str]:
    return [str(PYTHON_CORPUS / name) for name in names or CHEAP]


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


# -- options: refused at parse time, before any item runs ------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--arena-seed", "-1", "a comma list of seeds >= 0"),  # bug 3
        ("--arena-seed", "0,-7", "a comma list of seeds >= 0"),
        ("--arena-max-turns", "-3", "a whole number of turns >= 1"),  # bug 4
        ("--arena-max-turns", "0", "a whole number of turns >= 1"),
        ("--arena-max-turns", "3,4", "takes one value, not a list"),
        ("--arena-n-ctx", "-5", "a context size >= 0"),
        ("--arena-gpu-layers", "-2", "a layer count >= 0, or -1 for all"),
        ("--arena-max-tokens", "0", "a token count >= 1"),
        ("--arena-temperature", "-0.5", "a comma list of numbers >= 0"),
        ("--arena-workspace-quota", "lots", "a size such as 4G"),
    ],
)
def test_a_bad_option_value_is_a_usage_error_naming_it(tmp_path: Path, option: str, value: str, expected: str) -> None:
    reports = tmp_path / "r"
    run = run_pytest("--arena", f"--arena-reports={reports}", option, value, *cheap_args(CHEAP[0]))
    assert not fault_probe(f"option {option} {value}", run.output), run.output
    assert run.returncode == 4, run.output
    assert f"argument {option}" in run.output and expected in run.output and repr(value) in run.output
    assert not reports.exists()  # nothing ran


@pytest.mark.slow
def test_a_bad_ini_value_is_a_usage_error_too(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\narena_max_turns = 0\n")
    fixture = shutil.copytree(PYTHON_CORPUS / CHEAP[0], tmp_path / "fixtures" / CHEAP[0])
    run = run_pytest("--arena", f"--arena-reports={tmp_path / 'r'}", str(fixture), cwd=tmp_path)
    assert not fault_probe("ini arena-max-turns = 0", run.output), run.output
    assert run.returncode == 4 and "--arena-max-turns='0': expected a whole number of turns >= 1" in run.output


# -- where results go: checked before the first item ----------------------------------------------


@pytest.mark.slow
def test_reports_that_is_a_file_stops_the_run_before_any_item(tmp_path: Path) -> None:  # bug 1
    reports = tmp_path / "reports.txt"
    reports.write_text("not a folder\n")
    run = run_pytest("--arena", "--arena-student", "reference", f"--arena-reports={reports}", *cheap_args())
    assert not fault_probe("--arena-reports is a file", run.output), run.output
    assert run.returncode == 4, run.output
    assert f"--arena-reports={reports}: is a file, not a folder" in run.output
    assert "PASSED" not in run.output and "passed" not in run.output  # no item ran


@pytest.mark.slow
def test_reports_below_a_file_stops_the_run_before_any_item(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    run = run_pytest("--arena", "--arena-student", "reference", f"--arena-reports={blocker / 'r'}", *cheap_args())
    assert not fault_probe("--arena-reports cannot be created", run.output), run.output
    assert run.returncode == 4 and "results cannot be written there (Not a directory)" in run.output


@pytest.mark.slow
def test_resume_into_a_results_file_that_cannot_be_appended(tmp_path: Path) -> None:
    run_dir = tmp_path / "r" / "run"
    (run_dir / "results.jsonl").mkdir(parents=True)
    run = run_pytest("--arena", "--arena-student", "reference", f"--arena-resume={run_dir}", *cheap_args())
    assert not fault_probe("results.jsonl not appendable", run.output), run.output
    assert run.returncode == 4 and "cannot be appended to" in run.output and "passed" not in run.output


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run folder: the reference student on the two cheap fixtures."""
    reports = tmp_path_factory.mktemp("finished") / "r"
    run = run_pytest(
        "--arena", "-p", "no:xdist", "--arena-student", "reference", f"--arena-reports={reports}", *cheap_args()
    )
    assert run.returncode == 0, run.output
    return (reports / "latest").resolve()


@pytest.mark.slow
def test_resume_after_a_torn_last_line_keeps_every_record(tmp_path: Path, finished_run: Path) -> None:  # bug 2
    run_dir = shutil.copytree(finished_run, tmp_path / "run")
    results = run_dir / "results.jsonl"
    first, second = lines_of(results)
    results.write_text(first + "\n" + second[: len(second) // 2], encoding="utf-8")  # killed mid-write
    resumed = run_pytest(
        "--arena", "-p", "no:xdist", "--arena-student", "reference", f"--arena-resume={run_dir}", *cheap_args()
    )
    # The torn item's trajectory holds its whole record: recovered, not run again (issue 20).
    assert resumed.returncode == 5 and "2 deselected" in resumed.output, resumed.output
    assert "its last line was torn" in resumed.output and "recovered 1 results" in resumed.output
    records = [json.loads(line) for line in lines_of(results)]  # every line whole again
    assert sorted(r["item"] for r in records) == sorted(json.loads(line)["item"] for line in (first, second))
    assert (run_dir / "results.jsonl.torn").read_text() == second[: len(second) // 2] + "\n"
    report = run_module("pytest_arena.results.report", run_dir)
    gate_file = tmp_path / "gates.toml"
    gate_file.write_text('[gates.g]\nmin_pass_at_1 = 1.0\n[gates.g.select]\nstudent = "reference"\n')
    gate = run_module("pytest_arena.results.gate", run_dir, "--gates", gate_file)
    again = run_pytest(
        "--arena", "-p", "no:xdist", "--arena-student", "reference", f"--arena-resume={run_dir}", *cheap_args()
    )
    lost = len(records) != 2 or report.returncode != 0 or gate.returncode != 0
    assert not fault_probe("resume after a torn line", resumed.output + report.output, data_lost=lost)
    assert report.returncode == 0 and gate.returncode == 0, report.output + gate.output
    assert again.returncode == 5 and "2 deselected" in again.output  # nothing runs a third time


def test_the_writer_starts_every_record_on_a_fresh_line(tmp_path: Path) -> None:
    whole = tmp_path / "whole.jsonl"
    whole.write_text('{"a": 1}\n{"b": 2}')  # a whole record that only lacks its newline
    assert repair_torn_tail(whole) is None and whole.read_text() == '{"a": 1}\n{"b": 2}\n'
    torn = tmp_path / "torn.jsonl"
    torn.write_text('{"a": 1}\n{"b": ')
    assert "moved it to" in (repair_torn_tail(torn) or "")
    assert torn.read_text() == '{"a": 1}\n' and Path(f"{torn}.torn").read_text() == '{"b": \n'
    fault_probe("writer after a torn line")


# -- student specs ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("scripted:", "'scripted:' needs a file after the colon: --arena-student scripted:PATH.json"),  # bug 5
        ("scripted:{tmp}", "is a folder; a scripted student is one JSON file: --arena-student scripted:PATH.json"),
        ("llama:", "'llama:' needs a file after the colon: --arena-student llama:PATH.gguf"),
    ],
)
def test_a_student_spec_without_a_file_is_a_driver_error(tmp_path: Path, spec: str, expected: str) -> None:
    spec = spec.format(tmp=tmp_path)
    reports = tmp_path / "r"
    run = run_pytest("--arena", "-p", "no:xdist", "--arena-student", spec, f"--arena-reports={reports}", *cheap_args())
    records = [json.loads(line) for line in lines_of(reports / "latest" / "results.jsonl")]
    assert not fault_probe(f"student spec {spec!r}", run.output, data_lost=len(records) != 2), run.output
    assert run.returncode == 1 and "2 errors" in run.output and expected in run.output
    assert {r["outcome"] for r in records} == {"DriverError"}
    assert expected in json.loads(records[0]["outcome_fields"])["message"]
    assert "[-t0-s0]" not in run.output  # the label is never empty


# -- corpus roots ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_root_that_is_a_file_or_holds_no_fixture_is_named(tmp_path: Path) -> None:
    file_root = tmp_path / "corpus.txt"
    file_root.write_text("")
    empty = tmp_path / "empty"
    empty.mkdir()
    for root, expected in ((file_root, "is a file, not a folder"), (empty, "no meta.toml found under it")):
        run = run_pytest("--arena", f"--arena-root={root}", f"--arena-reports={tmp_path / 'r'}")
        assert not fault_probe(f"--arena-root {expected}", run.output), run.output
        assert run.returncode == 4 and f"--arena-root={root}: {expected}" in run.output


# -- results files read back --------------------------------------------------------------------


@pytest.mark.slow
def test_a_corrupt_middle_line_is_named_and_can_be_skipped(tmp_path: Path, finished_run: Path) -> None:
    run_dir = shutil.copytree(finished_run, tmp_path / "run")
    results = run_dir / "results.jsonl"
    first, second = lines_of(results)
    results.write_text(f"{first}\n{{corrupt\n{second}\n")
    refused = run_module("pytest_arena.results.report", run_dir)
    assert refused.returncode == 2 and "line 2 is not a result record" in refused.output
    assert "--skip-bad-lines" in refused.output
    skipped = run_module("pytest_arena.results.report", run_dir, "--skip-bad-lines")
    assert skipped.returncode == 0 and "line 2 is not a result record, skipped (--skip-bad-lines)" in skipped.output
    gate_file = tmp_path / "gates.toml"
    gate_file.write_text('[gates.g]\nmin_pass_at_1 = 1.0\n[gates.g.select]\nstudent = "reference"\n')
    gate = run_module("pytest_arena.results.gate", run_dir, "--gates", gate_file, "--skip-bad-lines")
    assert gate.returncode == 0 and "warning:" in gate.stdout and "skipped (--skip-bad-lines)" in gate.stdout
    assert not fault_probe("corrupt middle line", refused.output + skipped.output + gate.output)


@pytest.mark.slow
def test_a_select_key_no_record_has_is_a_config_error(tmp_path: Path, finished_run: Path) -> None:
    gate_file = tmp_path / "gates.toml"
    gate_file.write_text('[gates.g]\nmin_pass_at_1 = 1.0\n[gates.g.select]\nstudnet = "reference"\n')
    typo = run_module("pytest_arena.results.gate", finished_run, "--gates", gate_file)
    assert not fault_probe("gate select key typo", typo.output)
    assert typo.returncode == 2 and "select key 'studnet' is not a field of any record" in typo.stderr
    gate_file.write_text('[gates.g]\nmin_pass_at_1 = 1.0\n[gates.g.select]\nstudent = "nobody"\n')
    assert run_module("pytest_arena.results.gate", finished_run, "--gates", gate_file).returncode == 1  # NO EVIDENCE


@pytest.mark.slow
def test_a_closed_pipe_ends_the_gate_quietly(tmp_path: Path, finished_run: Path) -> None:
    gate_file = tmp_path / "gates.toml"
    gate_file.write_text('[gates.g]\nmin_pass_at_1 = 1.0\n[gates.g.select]\nstudent = "reference"\n')
    proc = subprocess.run(
        f"{sys.executable} -m pytest_arena.results.gate {finished_run} --gates {gate_file} | head -1",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert not fault_probe("arena-gate | head -1", proc.stderr), proc.stderr
    assert proc.stdout.startswith("arena-gate: ") and proc.stderr == ""


# -- inside a session ---------------------------------------------------------------------------


def session_with(tmp_path: Path, turns: list[str], **settings: object):  # type: ignore[no-untyped-def]
    return scripted_session(tmp_path, tiny_fixture(tmp_path), turns, **settings)


def test_broken_tool_call_json_is_explained_to_the_student(tmp_path: Path) -> None:
    result = session_with(tmp_path, ['<tool_call>{"name": "file_read", "input": {"path": }}</tool_call>', FINISH])
    assert result.text_turns == 1
    told = result.turns[1].prompt_delta[0]["content"]
    assert told.startswith("Your <tool_call> JSON does not parse (Expecting value: line 1")
    fault_probe("broken tool-call JSON")


def test_a_megabyte_turn_with_nul_bytes(tmp_path: Path) -> None:
    huge = ("garbage \x00 " * 100_000) + '{"name": ' * 1000
    result = session_with(tmp_path, [huge], text_loop_limit=2)
    assert result.outcome.name == "AgentTextLoop" and len(result.turns[0].raw_text) > 1_000_000
    fault_probe("megabyte turn with NUL bytes")


def test_tool_inputs_of_the_wrong_type_name_the_field(tmp_path: Path) -> None:
    result = session_with(
        tmp_path,
        [
            '<tool_call>{"name": "file_write", "input": {"path": ["src/lib.rs"], "content": 1}}</tool_call>',
            '<tool_call>{"name": "file_edit", "input": "src/lib.rs"}</tool_call>',
            FINISH,
        ],
    )
    outputs = [r["output"] for t in result.turns for r in t.results]
    assert outputs[0] == "error: tool file_write: 'path' must be a string, got list ([\"src/lib.rs\"])"
    assert outputs[1].startswith("error: tool file_edit: input must be a JSON object")
    fault_probe("tool inputs of the wrong type")


def test_a_huge_turn_says_how_much_was_read_and_is_stored_capped(tmp_path: Path) -> None:
    huge = "x" * 5_000_000 + call("file_read", path="answer.txt")
    result = session_with(tmp_path, [huge, FINISH], text_loop_limit=3)
    first = result.turns[0]
    told = result.turns[1].prompt_delta[0]["content"]
    assert first.unparsed_chars == len(huge) - 256 * 1024
    assert told.startswith(f"Your reply was {len(huge)} characters; only the first 262144 are read")
    stored = StoredTurn.of(first).model_dump()
    assert "text" not in stored and stored["unparsed_chars"] == first.unparsed_chars
    assert len(stored["raw_text"]) < 70_000 and "characters omitted ...]" in stored["raw_text"]
    assert stored["raw_text"].endswith("</tool_call>")
    fault_probe("5 MB turn")


def test_trajectory_tool_output_keeps_head_tail_and_marker(tmp_path: Path) -> None:
    result = session_with(tmp_path, [call("shell", command="seq 1 3000"), FINISH])
    output = result.turns[0].results[0]["output"]
    assert output.startswith("exit code 0\n1\n2\n") and output.rstrip().endswith("2999\n3000")
    assert "characters omitted ...]" in output
    fault_probe("long tool output in the trajectory")


def test_links_to_folders_show_in_diff_and_files_touched(tmp_path: Path) -> None:
    result = session_with(tmp_path, [call("shell", command="ln -s / to-root && ln -s tests tests-link"), FINISH])
    assert {"to-root", "tests-link"} <= set(result.files_touched)
    assert "+symlink -> /" in result.diff and "+symlink -> tests" in result.diff
    fault_probe("links to folders")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not found: apt-get install bubblewrap")
def test_the_workspace_quota_stops_a_command_and_the_student_sees_it(tmp_path: Path) -> None:
    from pytest_arena.engine.quota import usage_bytes

    quota = 48 << 20
    spec = load_fixture(PYTHON_CORPUS / CHEAP[0])
    ws = Workspace(spec.repo_dir, spec.protected, sandbox=Sandbox(kind="bwrap"), quota=quota)
    tools = Toolbox(ws)
    try:
        fill = "for i in $(seq 1 400); do head -c 1M /dev/zero > f$i; sleep 0.005; done; echo all written"
        stopped = tools.execute("shell", {"command": fill})
        used = usage_bytes(ws.root)
        assert not stopped.ok and "workspace quota exceeded" in stopped.output, stopped.output
        assert "all written" not in stopped.output and used < 2 * quota
        refused = tools.execute("file_write", {"path": "more.txt", "content": "x"})
        assert not refused.ok and "workspace quota exceeded" in refused.output
        freed = tools.execute("shell", {"command": "rm -f f* && echo freed"})  # deleting is always allowed
        assert freed.ok and "freed" in freed.output and usage_bytes(ws.root) < quota
        assert tools.execute("file_write", {"path": "more.txt", "content": "x"}).ok
    finally:
        ws.cleanup()
    fault_probe("workspace quota", data_lost=used >= 2 * quota)


def test_stale_temp_folders_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    folders = {}
    for name, owner in (("dead", dead.stdout.strip()), ("alive", str(os.getppid())), ("kept", None)):
        folder = tmp_path / f"arena-{name}-x"
        (folder / "ws").mkdir(parents=True)
        if owner is not None:
            (folder / OWNER_FILE).write_text(owner)
        folders[name] = folder
    assert clean_stale(tmp_path) == [folders["dead"]]
    assert not folders["dead"].exists() and folders["alive"].exists() and folders["kept"].exists()
    fault_probe("stale temp folders")


# -- model files and builds (the real llama-cpp-python and the default GGUF) --------------------------


def _default_gguf() -> Path:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed: run ./run setup")
    from pytest_arena.engine.student import StudentError
    from pytest_arena.students.llama_cpp import default_model_path

    try:
        return default_model_path()
    except StudentError as exc:
        pytest.skip(str(exc))


@pytest.mark.slow
@pytest.mark.parametrize("keep", [0.5, 0.0005])
def test_a_truncated_gguf_is_named_as_incomplete(tmp_path: Path, keep: float) -> None:
    from pytest_arena.engine.student import StudentError
    from pytest_arena.students.llama_cpp import LlamaCppStudent

    source = _default_gguf()
    cut = tmp_path / "cut.gguf"
    with source.open("rb") as handle:
        cut.write_bytes(handle.read(int(source.stat().st_size * keep)))
    with pytest.raises(StudentError) as caught:
        LlamaCppStudent(cut, name="cut")
    message = str(caught.value)
    assert "not a complete GGUF file" in message, message
    if keep > 0.1:
        assert f"it has {cut.stat().st_size} bytes but its header declares at least" in message
    else:
        assert "file ends inside the metadata" in message
    fault_probe(f"GGUF cut to {keep:.2%}", message)


@pytest.mark.slow
def test_gpu_layers_on_a_build_without_offload_says_so(tmp_path: Path) -> None:
    llama_cpp = pytest.importorskip("llama_cpp", reason="llama-cpp-python not installed: run ./run setup")
    if llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this build offloads to a GPU: nothing to warn about")
    run = run_pytest("--arena", "--co", "--arena-gpu-layers", "999", f"--arena-reports={tmp_path}", *cheap_args())
    assert not fault_probe("--arena-gpu-layers on a CPU build", run.output)
    assert (
        run.returncode == 0 and run.output.count("--arena-gpu-layers 999: this llama-cpp-python build has no GPU") == 1
    )
    quiet = run_pytest("--arena", "--co", f"--arena-reports={tmp_path}", *cheap_args())  # the default asks nothing
    assert "no GPU offload" not in quiet.output


@pytest.mark.slow
def test_kept_workspaces_are_never_removed_as_stale(tmp_path: Path) -> None:
    run = run_pytest(
        "--arena", "-s", "-p", "no:xdist", "--arena-student", "reference", "--arena-keep-workspaces",
        f"--arena-reports={tmp_path / 'r'}", *cheap_args(CHEAP[0]),
    )  # fmt: skip
    assert run.returncode == 0, run.output
    kept = Path(run.output.split("workspace kept: ", 1)[1].split()[0])
    try:
        assert kept.is_dir() and not (kept.parent / OWNER_FILE).exists()
        clean_stale(kept.parent.parent)
        assert kept.is_dir()
    finally:
        shutil.rmtree(kept.parent)
    assert not fault_probe("kept workspace", run.output)


# -- fixtures on disk (issue 20): a broken fixture is a collection error of its own items only ----


def arena_run(tmp_path: Path, *fixtures: Path, extra: tuple[str, ...] = ()) -> tuple[Cli, list[dict[str, object]]]:
    """A real run of a scripted student that only finishes, on ``fixtures``. pytest stops a whole
    run at a collection error unless told to go on, so the broken fixture's neighbours run too."""
    script = write_script(tmp_path / "finish.json", {"*": [FINISH]})
    reports = tmp_path / "r"
    run = run_pytest(
        "--arena", "-p", "no:xdist", "--continue-on-collection-errors", "--arena-student", f"scripted:{script}",
        f"--arena-reports={reports}", *extra, *map(str, fixtures),
    )  # fmt: skip
    results = reports / "latest" / "results.jsonl"
    records = [json.loads(line) for line in lines_of(results)] if results.is_file() else []
    return run, records


@pytest.mark.parametrize(
    "word", ["skip", "skipif", "xfail", "usefixtures", "parametrize", "filterwarnings", "tryfirst", "trylast"]
)
def test_a_class_word_that_is_a_pytest_mark_is_a_fixture_error(tmp_path: Path, word: str) -> None:  # bug 4
    with pytest.raises(FixtureError) as caught:
        load_fixture(tiny_fixture(tmp_path, f"{word}__01-answer"))
    message = str(caught.value)
    assert not fault_probe(f"class = {word!r}", message)
    assert "meta.toml: key 'class'" in message and f"got '{word}'" in message
    assert f"Fix: pick another class word, e.g. {word}_tasks" in message


@pytest.mark.slow
def test_a_skip_class_is_a_collection_error_not_an_internal_error(tmp_path: Path) -> None:  # bug 4
    broken, honest = tiny_fixture(tmp_path, "skip__01-answer"), tiny_fixture(tmp_path)
    run, records = arena_run(tmp_path, broken, honest)
    assert not fault_probe("class = 'skip' in a real run", run.output), run.output
    assert f"{broken / 'meta.toml'}: key 'class'" in run.output and "pick another class word" in run.output
    assert run.returncode == 1 and "1 failed" in run.output and "1 error" in run.output, run.output
    assert [r["fixture"] for r in records] == [honest.name]  # its neighbour still ran and was recorded


@pytest.mark.slow
def test_a_corrupt_baseline_cache_entry_is_derived_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # bug 12: strings where lists belong were read as tuples of characters
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    spec = load_fixture(PYTHON_CORPUS / CHEAP[0])
    entry = cache_dir() / f"{version_digest(spec)}.json"
    entry.parent.mkdir(parents=True)
    whole = {"fixture": spec.id, "fail_to_pass": ["a"], "pass_to_pass": ["b"], "tests": 2}
    corruptions = [
        {"fail_to_pass": "xyz", "pass_to_pass": "ab"},  # the entry of the issue
        whole | {"fail_to_pass": "xyz"},
        whole | {"pass_to_pass": [1, 2]},
        whole | {"tests": -1},
        whole | {"tests": "2"},
        whole | {"fixture": "another__01-fixture"},
    ]
    for corrupt in corruptions:
        entry.write_text(json.dumps(corrupt))
        assert cached(spec) is None, corrupt
    entry.write_text(json.dumps(whole))
    assert cached(spec) == Baseline(("a",), ("b",), 2)  # a whole entry is still used as it is
    entry.write_text(json.dumps(corruptions[0]))
    derived = baseline_for(spec, Sandbox(kind="none"))
    stored = json.loads(entry.read_text())  # overwritten by the new derivation
    lost = "tests.test_core::test_unique_only" not in derived.fail_to_pass
    assert not fault_probe("corrupt baseline cache entry", data_lost=lost)
    assert not lost and derived.tests > 0 and "x" not in derived.fail_to_pass
    assert stored["fail_to_pass"] == list(derived.fail_to_pass) and cached(spec) == derived


@pytest.mark.slow
def test_a_link_to_a_folder_inside_repo_is_refused_at_load(tmp_path: Path) -> None:  # bug 14
    fixture = tiny_fixture(tmp_path)
    (fixture / "repo" / "tests-link").symlink_to("tests")  # inside the fixture, still not a plain folder
    with pytest.raises(FixtureError) as caught:
        load_fixture(fixture)
    message = str(caught.value)
    assert f"{fixture / 'repo' / 'tests-link'}: is a symbolic link (to tests)" in message and "Fix: " in message
    with pytest.raises(FixtureError, match="tests-link"):
        fixture_digest(fixture)
    # The run read the link as a file when digesting the fixture's version for its baseline: every
    # item a DriverError (IsADirectoryError). Now the fixture is a collection error.
    run, records = arena_run(tmp_path, fixture)
    assert not fault_probe("link to a folder inside repo/", message + run.output), run.output
    assert "is a symbolic link (to tests)" in run.output and "IsADirectoryError" not in run.output
    assert run.returncode == 1 and "1 error" in run.output and records == [], run.output


@pytest.mark.slow
def test_a_file_name_that_is_not_utf8_is_a_fixture_error(tmp_path: Path) -> None:  # bug 15
    broken, honest = tiny_fixture(tmp_path), tiny_fixture(tmp_path, "tiny__02-answer")
    (broken / "repo" / os.fsdecode(b"caf\xe9.txt")).write_text("latin-1 name\n")
    run, _ = arena_run(tmp_path, broken, honest, extra=("--co",))
    assert not fault_probe("file name not UTF-8", run.output), run.output
    assert f"{broken / 'repo'}: file name b'caf\\xe9.txt' is not UTF-8. Fix: rename it to a UTF-8 name" in run.output
    assert "1 test collected, 1 error" in run.output, run.output


@pytest.mark.slow
def test_a_fifo_in_repo_is_a_collection_error_and_the_others_still_run(tmp_path: Path) -> None:  # bug 16
    broken, honest = tiny_fixture(tmp_path), tiny_fixture(tmp_path, "tiny__02-answer")
    os.mkfifo(broken / "repo" / "pipe")
    run, records = arena_run(tmp_path, broken, honest)
    lost = [r["fixture"] for r in records] != [honest.name]
    assert not fault_probe("FIFO in repo/", run.output, data_lost=lost), run.output
    assert f"{broken / 'repo' / 'pipe'}: is a FIFO (named pipe)" in run.output and "Fix: " in run.output
    assert run.returncode == 1 and "1 failed" in run.output and "1 error" in run.output, run.output
    assert not lost, records
