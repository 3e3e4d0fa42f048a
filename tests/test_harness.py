"""Commands the harness could not run are HarnessError, never the student's failure; a venv reached
through a link into /tmp still runs inside the sandbox."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from pytest_arena.engine import outcomes as oc
from pytest_arena.engine.commands import run_command, run_shell
from pytest_arena.engine.corpus import load_fixture
from pytest_arena.engine.harness import harness_fault
from pytest_arena.engine.oracle import fixture_compliance
from pytest_arena.engine.sandbox import Limits, Sandbox
from pytest_arena.engine.session import Session, SessionSettings
from pytest_arena.engine.tools import Toolbox
from pytest_arena.engine.workspace import Workspace
from pytest_arena.students.scripted import ScriptedStudent

from .helpers import ROOT, call, reference_vs_finish, write_script

PY_CORPUS = ROOT / "fixtures" / "python"
requires_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not found: apt-get install bubblewrap")


def _shell(tmp_path: Path, command: str) -> str | None:
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(exist_ok=True)
    tmp.mkdir(exist_ok=True)
    return harness_fault(run_shell(command, cwd=tmp_path, home=home, tmp=tmp, timeout_s=30, sandbox=Sandbox("none")))


def test_harness_faults_are_told_from_failures(tmp_path: Path) -> None:
    fault = _shell(tmp_path, "env nosuchtool --check .")
    assert fault is not None and "exit code 127" in fault and "nosuchtool" in fault and "`env nosuchtool" in fault
    script = tmp_path / "tool.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    fault = _shell(tmp_path, str(script))  # not executable
    assert fault is not None and "exit code 126" in fault and "shebang" in fault
    script.write_text("#!/nonexistent/python\nprint(1)\n")
    script.chmod(0o755)
    fault = _shell(tmp_path, str(script))  # an interpreter that cannot execute
    assert fault is not None and "exit code 127" in fault
    assert _shell(tmp_path, "exit 1") is None and _shell(tmp_path, "false") is None


@requires_bwrap
def test_venv_reached_through_a_link_into_tmp_runs_in_the_sandbox(tmp_path: Path) -> None:
    """The venv lives under /tmp (hidden by the sandbox's private /tmp) and PATH names it through a
    link that lives elsewhere: its scripts' shebangs go through the link, as mypy's did."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    outside = Path(tempfile.mkdtemp(prefix="arena-link-", dir=Path.home()))
    try:
        link = outside / "venv"
        link.symlink_to(venv)
        tool = venv / "bin" / "arena-linked-tool"
        tool.write_text(f"#!{link}/bin/python\nimport sys\nprint('tool ran under', sys.prefix)\n")
        tool.chmod(0o755)
        workspace = tmp_path / "ws"
        workspace.mkdir()
        env = {"PATH": f"{link}/bin:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp/home"}
        result = run_command(
            ["bash", "-c", "arena-linked-tool"], cwd=workspace, env=env, timeout_s=60, sandbox=Sandbox()
        )
        assert result.ok, result.output
        assert "tool ran under" in result.output
    finally:
        shutil.rmtree(outside)


@pytest.mark.slow
def test_compliance_tool_missing_is_a_harness_error_not_the_student(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    fixture = shutil.copytree(PY_CORPUS / "unix__01-uniq", corpus / "unix__01-uniq")
    meta = fixture / "meta.toml"
    text = meta.read_text()
    start = text.index("compliance_cmd")
    end = text.index("\n", start)
    meta.write_text(text[:start] + 'compliance_cmd = "env nosuchtool --check . 2>&1"' + text[end:])
    run, _ = reference_vs_finish(tmp_path, f"--arena-reports={tmp_path / 'r'}", str(fixture))
    assert run.returncode == 1, run.output
    records = [json.loads(line) for line in (tmp_path / "r" / "latest" / "results.jsonl").read_text().splitlines()]
    by_student = {r["student"]: r for r in records}
    reference = by_student["reference"]
    assert reference["outcome"] == "HarnessError", reference["outcome_fields"]
    fields = json.loads(reference["outcome_fields"])
    assert fields["command"].startswith("env nosuchtool") and "not found inside the sandbox" in fields["message"]
    assert "HARNESS_ERROR" in run.output
    # The student that did nothing still fails as itself; the harness fault is reported, not counted.
    assert [r["outcome"] for r in records if r["student"] != "reference"] == ["OracleFailed"]
    assert "reference t=0: 1 items, pass@1 0/1 = 0% [0%, 79%]; without DriverError/HarnessError n/a" in run.output
    assert "0 DriverError, 1 HarnessError (not counted)" in run.output


@requires_bwrap
def test_a_sandbox_that_cannot_start_ends_the_session_as_harness_error(tmp_path: Path) -> None:
    """The student's shell command never ran: the session is the harness's failure, and the
    student is not told a sandbox error as if its command had failed."""
    spec = load_fixture(PY_CORPUS / "unix__01-uniq")
    broken = Sandbox(limits=Limits(tmp_size=0))  # bwrap refuses: "--size takes a non-zero number"
    ws = Workspace(spec.repo_dir, spec.protected, sandbox=broken)
    script = write_script(tmp_path / "s.json", {"*": [call("shell", command="ls")]})
    try:
        session = Session(spec, ws, ScriptedStudent(script), SessionSettings(), Toolbox(ws), fixture_compliance(spec))
        result = session.run()
    finally:
        ws.cleanup()
    assert isinstance(result.outcome, oc.HarnessError), result.outcome
    assert result.outcome.command == "ls" and "the sandbox failed to start (bwrap: --size" in result.outcome.message
    assert result.verdict is None and len(result.turns) == 1
