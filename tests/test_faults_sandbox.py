"""Faults of the sandbox, workspace, tools and caches: each degrades to a clear line or a bounded
cost, never a wrong outcome, a traceback or a harness that grows without bound."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_arena.engine import outcomes as oc
from pytest_arena.engine.corpus import fixture_digest, load_fixture
from pytest_arena.engine.oracle import fixture_compliance
from pytest_arena.engine.sandbox import Sandbox
from pytest_arena.engine.session import Session, SessionResult, SessionSettings
from pytest_arena.engine.tools import MAX_CALLS_PER_TURN, Toolbox
from pytest_arena.engine.warm import WarmCache, entry_digest
from pytest_arena.engine.workspace import Workspace
from pytest_arena.students.scripted import ReferenceStudent

from .helpers import FINISH, ROOT, call, fault_probe, scripted_session, session, tiny_fixture


def test_the_wall_timeout_stops_a_turn_of_many_commands(tmp_path: Path) -> None:
    """One turn of ten `sleep 3` calls under a 2 s wall budget: checked only between turns, the
    session ran all ten (30 s). The deadline is checked before each call and caps each command."""
    fixture = tiny_fixture(tmp_path / "corpus")
    turn = "".join(call("shell", command="sleep 3") for _ in range(10))
    started = time.monotonic()
    result = scripted_session(tmp_path, fixture, [turn, FINISH], wall_timeout_s=2)
    elapsed = time.monotonic() - started
    outcome = result.outcome
    shown = f"{outcome.name} after {elapsed:.1f}s"
    assert not fault_probe("wall timeout inside one turn of ten sleeps", shown)
    assert isinstance(outcome, oc.WallTimeout) and outcome.turn == 1, shown
    assert elapsed < 6, shown
    assert len(result.turns[0].results) == 1  # the first sleep, cut at the deadline; no other ran


def test_calls_past_the_per_turn_cap_are_dropped_and_the_student_is_told(tmp_path: Path) -> None:
    """A turn of 10,000 calls ran 3,236 of them and made a 14.6 MB trajectory."""
    fixture = tiny_fixture(tmp_path / "corpus")
    many = MAX_CALLS_PER_TURN + 200
    turn = "".join(call("file_read", path="answer.txt") for _ in range(many))
    result = scripted_session(tmp_path, fixture, [turn, FINISH])
    first = result.turns[0]
    last = first.results[-1]["output"]
    assert not fault_probe("thousands of calls in one turn", last)
    assert len(first.results) == MAX_CALLS_PER_TURN and len(first.calls) == MAX_CALLS_PER_TURN
    assert first.dropped_calls == 200
    assert "200 more tool call(s) in this turn were dropped" in last
    assert isinstance(result.outcome, oc.OracleFailed)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not found: apt-get install bubblewrap")
def test_a_read_only_cache_folder_is_computed_without_saving(tmp_path: Path) -> None:
    """XDG_CACHE_HOME on a read-only mount: saving the baseline failed and the reference student's
    passing session was recorded as DriverError "Read-only file system"."""
    fixture = tiny_fixture(tmp_path / "corpus")
    cache = tmp_path / "cache"
    cache.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["XDG_CACHE_HOME"] = str(cache)
    # A real read-only mount (root ignores permission bits), for this pytest run only.
    argv = ["bwrap", "--dev-bind", "/", "/", "--ro-bind", str(cache), str(cache), "--", sys.executable, "-m"]
    argv += ["pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "--arena", "--arena-student", "reference"]
    argv += [f"--arena-reports={tmp_path / 'reports'}", str(fixture)]
    run = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    output = run.stdout + run.stderr
    assert not fault_probe("read-only XDG_CACHE_HOME", output), output
    assert run.returncode == 0 and "1 passed" in output, output
    record = json.loads((tmp_path / "reports" / "latest" / "results.jsonl").read_text().splitlines()[0])
    assert record["outcome"] == "OraclePassed" and record["f2p_passed"] == record["f2p_total"], record
    assert output.count("the baseline cache cannot be written at") == 1, output
    assert "Read-only file system" in output and not list(cache.iterdir())


PYTHON_FIXTURE = ROOT / "fixtures" / "python" / "leetcode__01-roman-numerals"


def _corrupt_mypy_caches(entry_root: Path) -> list[Path]:
    found = sorted(entry_root.glob("*/.mypy_cache/**/cache*.db"))
    for db in found:
        db.write_bytes(b"garbage, not sqlite\n" * 64)
    return found


def _reference_with_warm(cache: WarmCache) -> SessionResult:
    spec = load_fixture(PYTHON_FIXTURE)
    ws = Workspace(spec.repo_dir, spec.protected)
    try:
        toolbox, checks = Toolbox(ws), fixture_compliance(spec)
        digest = fixture_digest(spec.directory)
        return Session(
            spec, ws, ReferenceStudent(), SessionSettings(), toolbox, checks, warm=cache, digest=digest
        ).run()
    finally:
        ws.cleanup()


@pytest.mark.slow
@pytest.mark.parametrize("rehashed", [False, True], ids=["corrupted entry", "entry built corrupted"])
def test_a_corrupted_warm_cache_is_rebuilt_not_scored(tmp_path: Path, rehashed: bool) -> None:
    """Garbage in a warm entry's mypy cache made mypy exit 2 (INTERNAL ERROR) and the reference was
    recorded as ComplianceFailed: `.complete` alone was trusted. The entry's hash finds a corrupted
    entry; an entry whose hash holds (built corrupted) is caught by the tool's crash, judged cold."""
    spec = load_fixture(PYTHON_FIXTURE)
    digest = fixture_digest(spec.directory)
    WarmCache(tmp_path / "warm").artifacts(spec, digest, Sandbox(), hidden=True)
    corrupted = _corrupt_mypy_caches(tmp_path / "warm")
    assert corrupted
    if rehashed:
        for complete in (tmp_path / "warm").glob("*/.complete"):
            complete.write_text(f"{spec.id}\nsha256 {entry_digest(complete.parent)}\n", encoding="utf-8")
    result = _reference_with_warm(WarmCache(tmp_path / "warm"))
    shown = f"{result.outcome.name}: {result.verdict.explain() if result.verdict else ''}"
    assert not fault_probe(f"warm cache, {'entry built corrupted' if rehashed else 'corrupted entry'}", shown)
    assert isinstance(result.outcome, oc.OraclePassed), shown
    garbage = [db for db in corrupted if db.exists() and db.read_bytes().startswith(b"garbage")]
    assert not garbage, "the corrupted entry was kept for the next item"


def test_a_tool_crash_that_persists_cold_is_a_harness_error(tmp_path: Path) -> None:
    """A tool's INTERNAL ERROR is never the student's ComplianceFailed."""
    crash = "echo 'answer.txt:1: error: INTERNAL ERROR -- Please try using mypy master on GitHub:'; exit 2"
    fixture = tiny_fixture(tmp_path / "corpus", compliance_cmd=crash)
    result = session(fixture, ReferenceStudent())[0]
    shown = f"{result.outcome.name}: {result.outcome.fields()}"
    assert not fault_probe("a tool crash on the clean tree", shown)
    assert isinstance(result.outcome, oc.HarnessError), shown
    assert "mypy crashed" in shown and "not of the code it checked" in shown


SPARSE_PROBE = """
import json, resource, sys
from pathlib import Path
from pytest_arena.engine.baseline import version_digest
from pytest_arena.engine.corpus import fixture_digest, load_fixture
from pytest_arena.engine.sandbox import Sandbox
from pytest_arena.engine.tools import Toolbox
from pytest_arena.engine.workspace import Workspace

fixture = Path(sys.argv[1])
spec = load_fixture(fixture)
fixture_digest(fixture), version_digest(spec)
ws = Workspace(spec.repo_dir, spec.protected, sandbox=Sandbox(kind="none"))
tools = Toolbox(ws)
outputs = [
    tools.execute("grep", {"pattern": "zzz"}).output,
    tools.execute("grep", {"pattern": "zzz", "path": "big.bin"}).output,
    tools.execute("file_edit", {"path": "big.bin", "old": "a", "new": "b"}).output,
    tools.execute("file_read", {"path": "big.bin"}).output,
]
copied = (ws.root / "big.bin").stat()
ws.cleanup()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"rss": rss, "blocks": copied.st_blocks * 512, "size": copied.st_size, "outputs": outputs}))
"""


@pytest.mark.slow
def test_a_sparse_gigabyte_costs_neither_memory_nor_disk(tmp_path: Path) -> None:
    """A 1 GiB sparse file in repo/ cost 1.1 GB of RSS at collection (read whole to be hashed), was
    copied dense into the workspace, and `grep` and `file_edit` on it drove RSS to 3.1 GB."""
    fixture = tiny_fixture(tmp_path / "corpus")
    with (fixture / "repo" / "big.bin").open("wb") as handle:
        handle.truncate(1 << 30)
        handle.write(b"a")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", SPARSE_PROBE, str(fixture)], capture_output=True, text=True, env=env, timeout=300
    )
    shown = proc.stdout + proc.stderr
    assert not fault_probe("a 1 GiB sparse file in repo/", shown), shown
    probe = json.loads(proc.stdout)
    assert probe["rss"] < 300 * 2**20, f"{probe['rss'] / 2**20:.0f} MiB RSS"
    assert probe["size"] == 1 << 30 and probe["blocks"] < 16 * 2**20, probe
    whole, named, edit, _read = probe["outputs"]
    limit = "file too large: 1073741824 bytes, limit"
    assert f"big.bin: {limit}" in whole and f"big.bin: {limit}" in named and f"big.bin: {limit}" in edit, probe


def _arena_in_small_tmpdir(
    tmp_path: Path, tmpdir_bytes: int, *args: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    """pytest --arena with TMPDIR on a tmpfs of ``tmpdir_bytes`` (a real ENOSPC, for this run only)."""
    small = tmp_path / "small-tmp"
    small.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["TMPDIR"] = str(small)
    argv = ["bwrap", "--dev-bind", "/", "/", "--size", str(tmpdir_bytes), "--tmpfs", str(small), "--"]
    argv += [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "--arena", *args]
    argv += [f"--arena-reports={tmp_path / 'reports'}"]
    run = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    return run, run.stdout + run.stderr


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bwrap not found: apt-get install bubblewrap")
@pytest.mark.parametrize("when", ["before the item", "at the oracle"])
def test_a_full_tmpdir_is_a_harness_error_in_one_line(tmp_path: Path, when: str) -> None:
    """A full TMPDIR was a DriverError with a traceback."""
    fixture = tiny_fixture(tmp_path / "corpus")
    (fixture / "repo" / "data.bin").write_bytes(os.urandom(1_200_000))
    # The student's own file fills TMPDIR (the workspace lives there) so the clean tree finds no room.
    script = tmp_path / "fill.json"
    script.write_text(json.dumps({"*": [call("shell", command="head -c 2600000 /dev/urandom > filler"), FINISH]}))
    size = 2 * 2**20 if when == "before the item" else 4 * 2**20
    run, output = _arena_in_small_tmpdir(tmp_path, size, "--arena-student", f"scripted:{script}", str(fixture))
    assert not fault_probe(f"a full TMPDIR {when}", output), output
    assert run.returncode == 1 and "TMPDIR " in output and "is full" in output and "MiB are free" in output, output
    record = json.loads((tmp_path / "reports" / "latest" / "results.jsonl").read_text().splitlines()[0])
    assert record["outcome"] == "HarnessError", record
    assert "harness error: DriverError" not in output and "1 HarnessError" in output
