from __future__ import annotations

import time
from pathlib import Path

import pytest

from pytest_arena.engine.commands import command_env, run_command


def run(tmp_path: Path, script: str, timeout: float = 30, cap: int = 64 * 1024):
    return run_command(
        ["bash", "-c", script], cwd=tmp_path, env=command_env(tmp_path, tmp_path), timeout_s=timeout, output_cap=cap
    )


def test_exit_code_and_merged_output(tmp_path: Path) -> None:
    result = run(tmp_path, "echo out; echo err >&2; exit 4")
    assert (result.exit_code, result.timed_out) == (4, False)
    assert "out" in result.output and "err" in result.output


@pytest.mark.slow
def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    marker = tmp_path / "survivor"
    result = run(tmp_path, f"(sleep 3; touch {marker}) & sleep 60", timeout=1)
    assert result.timed_out and result.exit_code is None
    time.sleep(4)
    assert not marker.exists()


@pytest.mark.slow
def test_background_process_does_not_outlive_the_command(tmp_path: Path) -> None:
    marker = tmp_path / "late"
    result = run(tmp_path, f"(sleep 2; touch {marker}) > /dev/null 2>&1 & echo started")
    assert result.ok
    time.sleep(3)
    assert not marker.exists()


def test_output_is_capped_keeping_head_and_tail(tmp_path: Path) -> None:
    result = run(tmp_path, "echo FIRST; head -c 50000000 /dev/zero | tr '\\0' 'a'; echo; echo LAST", cap=4096)
    assert result.ok and result.output.startswith("FIRST")
    assert result.output.rstrip().endswith("LAST")
    assert "output truncated" in result.output and len(result.output) < 5000


def test_non_utf8_output_is_decoded_leniently(tmp_path: Path) -> None:
    result = run(tmp_path, "printf 'ok \\377\\376 \\000 end'")
    assert "ok" in result.output and "end" in result.output and "\x00" not in result.output


def test_missing_program(tmp_path: Path) -> None:
    result = run(tmp_path, "no-such-program-xyz")
    assert result.exit_code == 127 and "not found" in result.output


def test_a_fixtures_pytest_loads_none_of_the_arenas_plugins(tmp_path: Path) -> None:
    (tmp_path / "test_alone.py").write_text(
        "def test_alone(pytestconfig):\n"
        "    manager = pytestconfig.pluginmanager\n"
        "    assert not manager.has_plugin('arena') and not manager.has_plugin('xdist.plugin')\n"
    )
    result = run(tmp_path, "python -m pytest -q -p no:cacheprovider 2>&1")
    assert result.ok and "1 passed" in result.output, result.output
