"""Synthesized fixtures in a pytest run (issue 25): an arena-synth fixture's items carry the ``synth``
mark, and a synthesized corpus (arena-synth's manifest.json) is collected only when asked for:
``-m synth``, or an --arena-root at or inside it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_arena.synth_collect import asks_for_synth

from .helpers import ROOT

SOURCE = ROOT / "fixtures" / "python" / "leetcode__01-roman-numerals"
PLAIN, PLANTED = "leetcode__01-plain", "leetcode__02-planted"
MUTATION = 'mutation = { operator = "comparison_boundary", file = "roman/__init__.py", line = 3 }\n'


def _copy(source: Path, target: Path, extra: str = "") -> None:
    shutil.copytree(source, target)
    meta = target / "meta.toml"
    text = meta.read_text(encoding="utf-8").replace(f'id = "{source.name}"', f'id = "{target.name}"')
    meta.write_text(text + extra, encoding="utf-8")


@pytest.fixture
def corpus(pytester: pytest.Pytester) -> Path:
    """One hand-written fixture, and under synth/ (a synthesized corpus) one with a mutation table."""
    root = pytester.path / "corpus"
    _copy(SOURCE, root / PLAIN)
    _copy(SOURCE, root / "synth" / PLANTED, MUTATION)
    (root / "synth" / "manifest.json").write_text(json.dumps({"tool": "arena-synth"}), encoding="utf-8")
    return root


def _collected(pytester: pytest.Pytester, root: Path, *args: str) -> list[str]:
    run = pytester.runpytest_inprocess(
        "--arena",
        f"--arena-root={root}",
        "--arena-student=reference",
        f"--arena-reports={pytester.path / 'reports'}",
        "--strict-markers",
        "--collect-only",
        "-q",
        *args,
    )
    output = run.stdout.str() + run.stderr.str()
    assert run.ret in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED), output
    # The synth marker is registered: --strict-markers would make an unknown one an error, and no
    # unknown-mark warning shows. (Other warnings, such as pytest's note that pytest_arena was
    # imported before this in-process run could rewrite it, depend on the tests before this one.)
    assert "PytestUnknownMarkWarning" not in output and "Unknown pytest.mark" not in output, output
    return sorted(line.rpartition("::")[2] for line in run.outlines if "::" in line)


def test_a_synthesized_corpus_is_left_out_by_default(pytester: pytest.Pytester, corpus: Path) -> None:
    assert _collected(pytester, corpus) == [f"{PLAIN}[reference-t0-s0]"]


def test_minus_m_synth_selects_only_the_synthesized_fixtures(pytester: pytest.Pytester, corpus: Path) -> None:
    assert _collected(pytester, corpus, "-m", "synth") == [f"{PLANTED}[reference-t0-s0]"]
    assert _collected(pytester, corpus, "-m", "synth and leetcode") == [f"{PLANTED}[reference-t0-s0]"]
    assert _collected(pytester, corpus, "-m", "not synth") == [f"{PLAIN}[reference-t0-s0]"]


def test_an_arena_root_at_or_inside_a_synthesized_corpus_collects_it(pytester: pytest.Pytester, corpus: Path) -> None:
    assert _collected(pytester, corpus / "synth") == [f"{PLANTED}[reference-t0-s0]"]
    assert _collected(pytester, corpus / "synth" / PLANTED) == [f"{PLANTED}[reference-t0-s0]"]


def test_a_root_holding_only_a_synthesized_corpus_is_a_usage_error_unless_asked_for(
    pytester: pytest.Pytester, corpus: Path
) -> None:
    shutil.rmtree(corpus / PLAIN)
    run = pytester.runpytest_inprocess("--arena", f"--arena-root={corpus}", "--collect-only", "-q")
    assert run.ret == pytest.ExitCode.USAGE_ERROR and "no meta.toml found under it" in run.stderr.str()
    assert _collected(pytester, corpus, "-m", "synth") == [f"{PLANTED}[reference-t0-s0]"]


@pytest.mark.parametrize(
    ("expression", "asks"),
    [("synth", True), ("leetcode and not synth", True), ("(synth)", True), ("synthetic", False), ("", False)],
)
def test_the_mark_expression_asks_for_synth_only_by_the_word(
    pytester: pytest.Pytester, expression: str, asks: bool
) -> None:
    config = pytester.parseconfig("-m", expression) if expression else pytester.parseconfig()
    assert asks_for_synth(config) is asks
