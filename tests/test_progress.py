"""What the terminal shows during a campaign: per-turn lines under -v (also under -n), a status
line at default verbosity, rewritten in place on a terminal and never with carriage returns in a log."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_arena.progress import status_line, turn_line

from .helpers import FINISH, ROOT, call, run_pytest, tiny_corpus, write_script

FIXTURES = ("tiny__01-answer", "shell__01-answer")  # tiny_corpus: fixtures of a few shell lines, 6 turns


def test_turn_line_names_calls_tokens_rate_and_a_cut() -> None:
    turn = SimpleNamespace(
        calls=[{"name": "file_read"}, {"name": "shell", "salvaged": True}],
        completion_tokens=120,
        generation_s=2.0,
        finish_reason="repetition",
        cached=False,
    )
    line = turn_line("two-sum[x]", 1, 2, turn)
    assert line == "two-sum[x] turn 1/2: file_read, shell*; 120 tokens in 2.0s (60 tok/s); stopped: repetition"
    turn.calls, turn.finish_reason = [], "stop"
    assert "turn 2/2: text;" in turn_line("two-sum[x]", 2, 2, turn)
    turn.cached = True
    assert turn_line("two-sum[x]", 2, 2, turn).endswith("; from the response cache")


def test_status_line_counts_outcomes_and_estimates() -> None:
    outcomes = Counter({"OraclePassed": 2, "OracleFailed": 1, "AgentTextLoop": 1})
    line = status_line(4, 10, outcomes, 125.0)
    assert line == "arena: 4/10 items, 2 passed, OracleFailed 1, AgentTextLoop 1; 2m05s elapsed, ETA 3m07s"
    assert status_line(0, 3, Counter(), 1.0).endswith("ETA -")


def _script(tmp_path: Path) -> Path:
    return write_script(tmp_path / "agent.json", {"*": [call("shell", command="true"), FINISH]})


def _args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "--arena",
        "--arena-student",
        f"scripted:{_script(tmp_path)}",
        f"--arena-reports={tmp_path / 'r'}",
        *extra,
        *map(str, tiny_corpus(tmp_path)),
    ]


@pytest.mark.slow
def test_verbose_prints_a_line_per_turn(tmp_path: Path) -> None:
    run = run_pytest(*_args(tmp_path, "-v"))
    assert run.returncode == 1, run.output
    for fixture in FIXTURES:
        assert re.search(rf"{fixture}\[scripted-agent-t0-s0\] turn 1/6: shell; \d+ tokens", run.stdout), run.stdout
        assert f"{fixture}[scripted-agent-t0-s0] turn 2/6: finish" in run.stdout
    assert "\r" not in run.stdout


@pytest.mark.slow
def test_verbose_under_xdist_prints_the_workers_turns(tmp_path: Path) -> None:
    run = run_pytest(*_args(tmp_path, "-v", "-n", "2"))
    assert run.returncode == 1, run.output
    for fixture in FIXTURES:
        assert f"{fixture}[scripted-agent-t0-s0] turn 2/6: finish" in run.stdout, run.stdout


@pytest.mark.slow
def test_default_verbosity_in_a_log_ends_with_a_status_line(tmp_path: Path) -> None:
    run = run_pytest(*_args(tmp_path, "-n", "2"))
    assert run.returncode == 1, run.output
    assert re.search(r"^arena: 2/2 items, 0 passed, OracleFailed 2; \d+s elapsed, ETA -$", run.stdout, re.M), run.stdout
    assert "\r" not in run.stdout and "turn 1/" not in run.stdout


@pytest.mark.slow
def test_default_verbosity_on_a_terminal_rewrites_one_line(tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["COLUMNS"] = "200"
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # cold: the warm-up phase has its line too
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *_args(tmp_path)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=600)
    os.close(primary)
    screen = b"".join(chunks).decode("utf-8", errors="replace")
    assert proc.returncode == 1, screen
    assert "\rarena: 1/2 items" in screen and "\rarena: 2/2 items" in screen, screen
    # The warm-up, beside the items without -n: its first and last lines are lines of their own,
    # kept above the items' status line, never rewritten by it.
    assert "arena: warming 0/2 fixtures" in screen and "arena: warmed 2/2 fixtures in " in screen, screen
    assert "\rarena: warm" not in screen, screen
    assert "\n" in screen[screen.index("arena: warming 0/2") : screen.index("\rarena: 1/2 items")]
    assert "turn 1/6: shell" in screen  # the status line says what the item is doing
    assert "meta.toml F" not in screen  # pytest's per-item letters gave way to the status line
