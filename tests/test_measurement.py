"""Measurement through the plugin: per-test FAIL_TO_PASS / PASS_TO_PASS in every record, pass@k over
seeds in the summary, report and gates, and any fixture class as a marker under --strict-markers."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from .helpers import CORPUS, FINISH, ROOT, reference_vs_finish, requires_cargo, run_module, run_pytest, write_script

PY_CORPUS = ROOT / "fixtures" / "python"


@pytest.mark.slow
@requires_cargo
def test_reference_fixes_every_fail_to_pass_test_finish_fixes_none_and_pass_at_3(tmp_path: Path) -> None:
    reports = tmp_path / "r"
    fixtures = [str(CORPUS / "leetcode__01-two-sum"), str(PY_CORPUS / "unix__01-uniq")]
    run, junit = reference_vs_finish(tmp_path, "--arena-seed", "0,1,2", f"--arena-reports={reports}", *fixtures)
    assert run.returncode == 1, run.output
    records = [json.loads(line) for line in (reports / "latest" / "results.jsonl").read_text().splitlines()]
    assert len(records) == 12
    for record in records:
        assert record["f2p_total"] > 0 and record["p2p_total"] > 0, record["item"]
        assert record["p2p_broken"] == 0, record["item"]
        if record["student"] == "reference":
            assert record["outcome"] == "OraclePassed" and record["f2p_passed"] == record["f2p_total"]
        else:
            assert record["outcome"] == "OracleFailed" and record["f2p_passed"] == 0
        assert record["well_formed_turns"] == record["turns"] - record["text_turns"] >= 1
    # pass@1 and pass@n (n = 3 seeds) per student, the graded share and the well-formed turns.
    assert re.search(r"reference t=0: .*\n  pass@1 1\.00 \[1\.00, 1\.00\], pass@3 1\.00 \[1\.00, 1\.00\]", run.output)
    assert "  FAIL_TO_PASS fixed 100% (mean share over 6 runs); regressions 0" in run.output
    assert "  FAIL_TO_PASS fixed 0% (mean share over 6 runs)" in run.output
    assert "  well-formed turns 6/6 = 100%" in run.output

    report = run_module("pytest_arena.results.report", reports / "latest")
    assert report.returncode == 0, report.output
    html = (reports / "latest" / "report.html").read_text()
    assert "pass@k (unbiased estimator, mean over fixtures)" not in html  # drawn, not written as text
    assert "<figcaption>pass@k = 1 - C(n-c, k)/C(n, k)" in html
    markdown = (reports / "latest" / "summary.md").read_text()
    assert "### Graded measures per student" in markdown and "| 100% of 6 runs |" in markdown

    gates = tmp_path / "gates.toml"
    gates.write_text(
        '[gates.k3]\nselect = { student = "^reference$" }\nmin_pass_at_k = { k = 3, value = 1.0 }\n'
        '[gates.k5]\nselect = { student = "^reference$" }\nmin_pass_at_k = { k = 5, value = 0.3 }\n'
    )
    held = run_module("pytest_arena.results.gate", junit, "--gates", gates, "--gate", "k3")
    assert held.returncode == 0 and "[ok] min_pass_at_k: pass@3 1.00" in held.stdout, held.output
    short = run_module("pytest_arena.results.gate", junit, "--gates", gates, "--gate", "k5")
    assert short.returncode == 1 and "[FAIL] min_pass_at_k: pass@5 needs >= 5 samples of every" in short.stdout, (
        short.output
    )


@pytest.mark.slow
def test_epochs_are_seeds_from_the_given_one(tmp_path: Path) -> None:
    fixture = str(PY_CORPUS / "unix__01-uniq")
    run = run_pytest("--arena", "--arena-seed", "5", "--arena-epochs", "3", "--collect-only", "-q", fixture)
    assert re.findall(r"-s(\d+)\]", run.output) == ["5", "6", "7"], run.output
    bad = run_pytest("--arena", "--arena-seed", "0,1", "--arena-epochs", "3", "--collect-only", fixture)
    assert bad.returncode == 4 and "--arena-epochs=3 with --arena-seed 0,1: give one seed" in bad.output


def _heldout_corpus(tmp_path: Path, fixture_class: str) -> Path:
    corpus = tmp_path / "heldout"
    fixture = shutil.copytree(PY_CORPUS / "unix__02-tr", corpus / "unix__02-tr")
    meta = fixture / "meta.toml"
    meta.write_text(meta.read_text().replace('class = "unix"', f'class = "{fixture_class}"'))
    return corpus


@pytest.mark.slow
def test_any_class_is_a_marker_under_strict_markers(tmp_path: Path) -> None:
    corpus = _heldout_corpus(tmp_path, "heldout")
    script = write_script(tmp_path / "finish.json", {"*": [FINISH]})
    run = run_pytest(
        "--arena", "--strict-markers", "-W", "error", "-m", "heldout", "--arena-student", f"scripted:{script}",
        f"--arena-reports={tmp_path / 'r'}", f"--arena-root={corpus}",
    )  # fmt: skip
    assert run.returncode == 1, run.output
    # One failed item and nothing else: no collection error, no warning (-W error would make one an error).
    assert re.search(r"=+ 1 failed in [\d.]+s", run.output), run.output
    assert "PytestUnknownMarkWarning" not in run.output


@pytest.mark.slow
def test_a_class_that_is_not_a_marker_word_is_one_clear_error(tmp_path: Path) -> None:
    corpus = _heldout_corpus(tmp_path, "Held-Out")
    run = run_pytest("--arena", "--collect-only", f"--arena-root={corpus}")
    assert run.returncode != 0
    assert "key 'class': Value error, must be one lowercase word (letters, digits, _)" in run.output
    assert "(got 'Held-Out'). Fix: write the class as one word of lowercase letters, digits and _" in run.output
    assert "Traceback" not in run.output
