"""One source's synthesis: every mutation site, in a seeded order, screened in warm scratch
copies and planted as proven fixtures until ``--max`` are kept."""

from __future__ import annotations

import queue
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.sandbox import Sandbox
from ..proof import Proof
from .mutants import Mutant
from .plant import fixture_id, plant
from .python_sites import python_sites
from .rust_sites import rust_sites
from .screen import DUPLICATE, NO_BUILD, UNPROVEN, Scratch, Screened
from .source import Source, SynthError

_SITES: dict[str, Callable[[str, bytes], Iterator[Mutant]]] = {"rust": rust_sites, "python": python_sites}


@dataclass(frozen=True)
class Settings:
    max_kept: int = 10
    seed: int = 0
    operators: tuple[str, ...] = ()  # empty: every operator
    jobs: int = 1
    repeat: int = 2
    sandbox: str = "bwrap"
    twin: bool = True  # a fixture is kept only when its impossible twin is proven too


@dataclass
class Kept:
    id: str
    folder: Path
    mutant: Mutant
    failing: tuple[str, ...]
    proof: Proof


@dataclass
class Outcome:
    source: Source
    tried: int = 0
    built: int = 0
    kept: list[Kept] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    sites: int = 0


def mutants_of(source: Source, settings: Settings) -> list[Mutant]:
    """Every mutant of the source's mutable files, shuffled by the seed (the same list each run)."""
    sites = _SITES.get(source.language)
    if sites is None:
        raise SynthError(f"{source.path}: arena-synth finds mutation sites in {' and '.join(_SITES)} code only")
    found: list[Mutant] = []
    for rel in source.files:
        found += sites(rel, (source.spec.repo_dir / rel).read_bytes())
    if settings.operators:
        found = [m for m in found if m.operator in settings.operators]
    found = sorted(set(found))
    random.Random(settings.seed).shuffle(found)
    return found


def _chunks(items: Sequence[tuple[int, Mutant]], size: int) -> Iterator[Sequence[tuple[int, Mutant]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def synthesize(source: Source, out: Path, settings: Settings, say: Callable[[str], None] = print) -> Outcome:
    started = time.monotonic()
    sandbox = Sandbox(kind=settings.sandbox, hidden=(source.spec.directory,))
    outcome = Outcome(source)
    destination = out / source.language
    for stale in destination.glob(f"{source.name}__m*"):
        shutil.rmtree(stale)  # the same seed writes the same ids; an earlier run's leftovers go
    scratches: queue.SimpleQueue[Scratch] = queue.SimpleQueue()
    opened = [Scratch(source, sandbox) for _ in range(settings.jobs)]
    try:
        opened[0].check_pristine()
        for scratch in opened:
            scratch.timeout, scratch.spec = opened[0].timeout, opened[0].spec
            scratches.put(scratch)
        mutants = list(enumerate(mutants_of(source, settings)))
        outcome.sites = len(mutants)
        seen: set[tuple[str, str, tuple[str, ...]]] = set()

        def screen(item: tuple[int, Mutant]) -> Screened:
            scratch = scratches.get()
            try:
                return scratch.screen(item[1])
            finally:
                scratches.put(scratch)

        with ThreadPoolExecutor(settings.jobs) as pool:
            for chunk in _chunks(mutants, 4 * settings.jobs):
                if len(outcome.kept) >= settings.max_kept:
                    break
                candidates = []
                for (index, mutant), screened in zip(chunk, pool.map(screen, chunk), strict=True):
                    outcome.tried += 1
                    outcome.built += screened.reject != NO_BUILD
                    key = (mutant.file, mutant.function, screened.failing)
                    if screened.reject is None and key in seen:
                        screened.reject = DUPLICATE
                    if screened.reject is not None:
                        outcome.rejected[screened.reject] += 1
                        continue
                    seen.add(key)
                    candidates.append((index, screened))
                _plant_all(source, destination, candidates, settings, pool, outcome, say)
    finally:
        for scratch in opened:
            scratch.close()
    outcome.seconds = round(time.monotonic() - started, 1)
    return outcome


def _plant_all(
    source: Source,
    destination: Path,
    candidates: list[tuple[int, Screened]],
    settings: Settings,
    pool: ThreadPoolExecutor,
    outcome: Outcome,
    say: Callable[[str], None],
) -> None:
    def one(candidate: tuple[int, Screened]) -> Proof:
        index, screened = candidate
        folder = destination / fixture_id(source, index, screened.mutant.operator)
        return plant(source, screened, index, folder, settings.repeat, settings.sandbox, settings.twin)

    for (index, screened), proof in zip(candidates, pool.map(one, candidates), strict=True):
        folder = destination / fixture_id(source, index, screened.mutant.operator)
        if not proof.proven:
            failed = ", ".join(c.name for c in proof.failures())
            outcome.rejected[f"{UNPROVEN}: {failed}"] += 1
            say(f"  rejected {folder.name}: {failed}")
        elif len(outcome.kept) >= settings.max_kept:
            shutil.rmtree(folder, ignore_errors=True)  # proven beside the last one kept: over --max
        else:
            outcome.kept.append(Kept(folder.name, folder, screened.mutant, screened.failing, proof))
            say(f"  kept {folder.name} ({len(screened.failing)} failing tests, {proof.seconds:.0f}s)")
