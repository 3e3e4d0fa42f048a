"""The README's commands, run as written (pytest commands collect-only; report and gate commands on
a real run), so the README cannot drift from what the project does."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import ROOT, requires_cargo, run_pytest

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```bash\n(.*?)```", README, re.DOTALL)
COMMANDS = [line.split("  #")[0].strip() for block in BLOCKS for line in block.splitlines() if line.strip()]
BIN = Path(sys.executable).parent


def by_prefix(prefix: str) -> list[str]:
    return [c for c in COMMANDS if c.startswith(prefix)]


def test_every_command_is_covered() -> None:
    covered = ("pytest ", "arena-report ", "arena-gate ", "arena-validate ", "arena-synth ", "PYTHONPATH=", "./run ")
    covered += ("ARENA_CUDA=1 ",)
    assert COMMANDS and all(c.startswith(covered) for c in COMMANDS), COMMANDS
    assert "./run tests" in COMMANDS and "./run arena" in COMMANDS  # run by CI and by the smoke test
    assert "./run arena -k two_sum --arena-max-turns 2" in README  # tests/test_llama_student.py
    assert "./run tests --fast" in COMMANDS  # test_run_tests_fast_leaves_out_the_slow_tier


@pytest.mark.slow
def test_run_tests_fast_leaves_out_the_slow_tier() -> None:
    def collected(*args: str) -> set[str]:
        proc = subprocess.run(
            ["./run", "tests", *args, "--co", "-q", "-p", "no:cacheprovider", "tests/test_readme.py"],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return {line for line in proc.stdout.splitlines() if "::" in line}

    everything, fast = collected(), collected("--fast")
    assert fast and fast < everything
    assert "tests/test_readme.py::test_run_tests_fast_leaves_out_the_slow_tier" in everything - fast
    assert "tests/test_readme.py::test_every_command_is_covered" in fast


@pytest.mark.slow
@pytest.mark.parametrize("command", by_prefix("pytest "))
def test_pytest_commands_collect(command: str, tmp_path: Path) -> None:
    args = shlex.split(command)[1:]
    if "--arena-resume=reports/latest" in args:  # needs an earlier run: make one
        first = run_pytest("--arena", "--arena-student", "reference", "-k", "two_sum", f"--arena-reports={tmp_path}")
        assert first.returncode in (0, 1), first.output
        args = [f"--arena-resume={tmp_path / 'latest'}" if a.startswith("--arena-resume") else a for a in args]
    args = [a for a in args if not a.startswith("--junitxml")]
    run = run_pytest(*args, "--collect-only", "-q", f"--arena-reports={tmp_path / 'r'}")
    assert run.returncode == 0, run.output
    assert re.search(r"(^\d+(/\d+)? tests? collected|collected [1-9]\d* items?)", run.output, re.MULTILINE), run.output
    assert not re.search(r"(^0 tests collected|/ 0 selected)", run.output, re.MULTILINE), run.output


@pytest.mark.slow
@requires_cargo
def test_plugin_command_and_install(tmp_path: Path) -> None:
    (command,) = by_prefix("PYTHONPATH=examples/arena_example_plugin")
    env_part, _, rest = command.partition(" ")
    env = {**os.environ, env_part.split("=")[0]: str(ROOT / env_part.split("=")[1])}
    args = shlex.split(rest)[1:]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, f"--arena-reports={tmp_path / 'r'}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    # The sample replay looks around with the plugin's tool and gives up, as the README says.
    assert proc.returncode == 1 and "1 OracleFailed" in proc.stdout, proc.stdout + proc.stderr
    # `pip install examples/arena_example_plugin` gives an entry point pytest loads by itself.
    # Built from a copy: setuptools leaves an .egg-info beside the sources it builds, and that
    # would make the PYTHONPATH form above load the plugin twice.
    source = shutil.copytree(ROOT / "examples" / "arena_example_plugin", tmp_path / "src")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(source)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--arena",
            "-k",
            "two_sum",
            "--collect-only",
            "-q",
            *args[args.index("--arena-student") :][:2],
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "replay-two-sum" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.slow
@requires_cargo
def test_report_and_gate_commands(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    run = run_pytest(
        "--arena",
        "--arena-student",
        "reference",
        "--arena-student",
        "default",
        "-k",
        "two_sum",
        "--arena-max-turns",
        "1",
        "--arena-max-tokens",
        "16",
        f"--arena-reports={reports}",
        f"--junitxml={reports / 'junit.xml'}",
        cwd=ROOT,
    )
    assert run.returncode in (0, 1), run.output
    shutil.copy(ROOT / "gates.toml", tmp_path / "gates.toml")
    for command in by_prefix("arena-report ") + by_prefix("arena-gate "):
        if "shards/" in command:  # the merge of CI shards: tests/test_shards.py runs it on two shards
            continue
        argv = shlex.split(command)
        proc = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=tmp_path, capture_output=True, text=True)
        # The 16-token default student cannot pass: the amended V1_004 has no qwen3moe evidence (1).
        expected = (1,) if argv[0] == "arena-gate" else (0,)
        assert proc.returncode in expected, f"{command}\n{proc.stdout}{proc.stderr}"
    assert (reports / "latest" / "report.html").is_file() and (reports / "latest" / "sft.jsonl").is_file()


@pytest.mark.slow
def test_validate_command(tmp_path: Path) -> None:
    """The README's arena-validate command as written, on a corpus root holding one fixture (the
    whole corpus is proven by tests/test_corpus_validation.py, with the same code)."""
    (command,) = [c for c in by_prefix("arena-validate ") if "--json" in c]  # fixtures/synth's: test_synth_corpus
    corpus = tmp_path / "fixtures"
    shutil.copytree(ROOT / "fixtures" / "python" / "unix__01-uniq", corpus / "unix__01-uniq")
    (tmp_path / "reports").mkdir()
    argv = shlex.split(command)
    proc = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1/1 fixtures proven" in proc.stdout and (tmp_path / "reports" / "validate.json").is_file()


@pytest.mark.slow
@pytest.mark.parametrize(
    "form", ["--arena-reports=DIR", "--arena-reports DIR", "--arena-reports=", "-o arena_reports=DIR"]
)
def test_run_arena_writes_and_reports_where_told(form: str, tmp_path: Path) -> None:
    """`./run arena --arena-reports DIR`: the JUnit file, the run and the report it names are in DIR,
    not in the project's reports/; an empty DIR means reports/, as it does to pytest; the ini key
    (here through -o) counts as much as the option."""
    reports = tmp_path / "elsewhere" if "DIR" in form else ROOT / "reports"
    args = shlex.split(form.replace("DIR", str(reports)))
    proc = subprocess.run(
        ["./run", "arena", "--arena-student", "reference", "--arena-root", "fixtures/python", "-k", "roman", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (reports / "junit.xml").is_file() and (reports / "latest" / "report.html").is_file()
    (line,) = [line for line in proc.stderr.splitlines() if line.startswith("[run] report: ")]
    assert line.startswith(f"[run] report: {reports.resolve()}/"), line
