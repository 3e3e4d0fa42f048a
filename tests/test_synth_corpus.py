"""The synthesized corpus in the repository (fixtures/synth, written by arena-synth from the
curated fixtures' solutions): its size and spread, its manifest, and in CI a sample of it
proven again, a different sample for every commit."""

from __future__ import annotations

import json
import os
import random
import shlex
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from pytest_arena.engine.corpus import discover, fixture_digest, is_synthesized_corpus, load_fixture
from pytest_arena.synth.manifest import read_manifest
from pytest_arena.synth.mutants import OPERATORS

from .helpers import ROOT, run_module, tree_digest
from .test_readme import by_prefix

SYNTH = ROOT / "fixtures" / "synth"
SAMPLE = {"rust": 14, "python": 6}  # at least 20 fixtures proven per CI run


def _folders() -> list[Path]:
    return [meta.parent for meta in discover(SYNTH)]


def test_the_synthesized_corpus_is_large_spread_and_opt_in() -> None:
    folders = _folders()
    languages = Counter(folder.parent.name for folder in folders)
    assert len(folders) >= 300 and languages["rust"] >= 150 and languages["python"] >= 100, languages
    curated = {load_fixture(meta.parent).fixture_class for meta in discover(ROOT / "fixtures")}
    specs = [load_fixture(folder) for folder in folders]
    assert {spec.fixture_class for spec in specs} == curated
    assert {spec.mutation.operator for spec in specs if spec.mutation} <= set(OPERATORS)
    assert all(spec.mutation is not None and spec.difficulty in (1, 2, 3) for spec in specs)
    assert is_synthesized_corpus(SYNTH)
    assert not any(meta.is_relative_to(SYNTH) for meta in discover(ROOT / "fixtures"))  # the main job's corpus


def test_the_manifest_names_every_fixture_with_its_content_hash() -> None:
    manifest = read_manifest(SYNTH)
    folders = {folder.name: folder for folder in _folders()}
    assert set(manifest["fixtures"]) == set(folders)
    for name, entry in manifest["fixtures"].items():
        assert SYNTH / entry["path"] == folders[name]
        assert fixture_digest(folders[name]) == entry["sha256"], f"{name}: changed since arena-synth wrote it"
        assert entry["fail_to_pass"] >= 1
    assert {entry["source"] for entry in manifest["fixtures"].values()} <= set(manifest["sources"])
    assert all(source["sha256"] and source["seed"] == 0 for source in manifest["sources"].values())


def _commit() -> str:
    try:
        found = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    except OSError:
        return os.environ.get("GITHUB_SHA", "no-git")
    return found.stdout.strip() or "no-git"


def test_the_readmes_arena_synth_commands_wrote_this_corpus() -> None:
    """fixtures/synth is what the README's two commands write: the same sources, --max and --seed."""
    written = [shlex.split(c) for c in by_prefix("arena-synth fixtures/")]
    assert written
    manifest = read_manifest(SYNTH)
    sources: dict[str, tuple[int, int]] = {}
    for argv in written:
        assert "fixtures/synth" in argv[2:]
        pattern = argv[1]
        settings = (int(argv[argv.index("--max") + 1]), int(argv[argv.index("--seed") + 1]))
        sources |= {folder.name: settings for folder in sorted(ROOT.glob(pattern))}
    recorded = {name: (entry["max"], entry["seed"]) for name, entry in manifest["sources"].items()}
    assert recorded == sources


@pytest.mark.slow
def test_a_sample_chosen_by_the_commit_is_proven_by_the_readmes_command(tmp_path: Path) -> None:
    """At least 20 fixtures through the README's `arena-validate fixtures/synth --repeat 2 --jobs 2`,
    the sample in place of the whole folder (proving all of it is the on-demand command)."""
    rng = random.Random(_commit())
    by_language: dict[str, list[Path]] = {}
    for folder in _folders():
        by_language.setdefault(folder.parent.name, []).append(folder)
    sample = [f for language, n in SAMPLE.items() for f in rng.sample(sorted(by_language[language]), n)]
    before = {folder: tree_digest(folder) for folder in sample}
    (command,) = [c for c in by_prefix("arena-validate ") if "fixtures/synth" in c]
    argv = shlex.split(command)
    args = [a for arg in argv[1:] for a in ([str(f) for f in sample] if arg == "fixtures/synth" else [arg])]
    run = run_module("pytest_arena.validate", *args, "--json", tmp_path / "proofs.json", timeout=1200)
    assert run.returncode == 0, run.output
    proofs = json.loads((tmp_path / "proofs.json").read_text())
    assert len(proofs) == len(sample) >= 20 and all(p["proven"] for p in proofs)
    assert all("same verdicts over 2 repeats" in {c["name"] for c in p["checks"]} for p in proofs)
    assert all(tree_digest(folder) == digest for folder, digest in before.items())
