"""arena-synth's throughput on this machine: mutants tried per minute, fixtures kept per minute and
the accept ratio (kept / tried), on one curated Rust and one curated Python fixture, side by side
in one run; and the same figures for every source of a synthesized corpus's manifest (what
writing fixtures/synth cost).

    .venv/bin/python benchmarks/synth.py                  # two-sum-like defaults, --max 6, --jobs 2
    .venv/bin/python benchmarks/synth.py --max 10 --jobs 1 fixtures/python/unix__01-uniq
    .venv/bin/python benchmarks/synth.py --manifest-only  # fixtures/synth/manifest.json only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_arena.synth.run import Settings, synthesize  # noqa: E402
from pytest_arena.synth.source import stage  # noqa: E402

DEFAULT_SOURCES = ("fixtures/under-contract/unix__01-wc", "fixtures/python/unix__01-uniq")


def _row(name: str, tried: int, built: int, kept: int, seconds: float) -> str:
    minutes = max(seconds, 1e-9) / 60
    ratio = kept / tried if tried else 0.0
    rates = f"{tried / minutes:>9.1f} {kept / minutes:>8.2f} {ratio:>7.0%}"
    return f"{name:<44} {tried:>6} {built:>6} {kept:>5} {seconds:>8.0f} {rates}"


HEADER = f"{'source':<44} {'tried':>6} {'built':>6} {'kept':>5} {'seconds':>8} {'tried/min':>9} {'kept/min':>8} "
HEADER += f"{'accept':>7}"


def measure(sources: list[str], settings: Settings) -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="synth-bench-") as work:
        for path in sources:
            source = stage(ROOT / path, Path(work) / "stage", None, {})
            started = time.monotonic()
            outcome = synthesize(source, Path(work) / "out", settings, say=lambda _line: None)
            rows.append(_row(source.name, outcome.tried, outcome.built, len(outcome.kept), time.monotonic() - started))
    return rows


def from_manifest(path: Path) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    rows, totals = [], [0, 0, 0, 0.0]
    for name, entry in data["sources"].items():
        rows.append(_row(name, entry["tried"], entry["built"], entry["kept"], entry["seconds"]))
        for i, key in enumerate(("tried", "built", "kept", "seconds")):
            totals[i] += entry[key]
    rows.append(_row("all sources", int(totals[0]), int(totals[1]), int(totals[2]), totals[3]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="*", default=list(DEFAULT_SOURCES))
    parser.add_argument("--max", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--manifest", type=Path, default=ROOT / "fixtures/synth/manifest.json")
    parser.add_argument("--manifest-only", action="store_true")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    if not args.manifest_only:
        print(f"\nmeasured now (--max {args.max} --jobs {args.jobs} --seed {args.seed}, proofs repeated twice):")
        print(HEADER)
        for row in measure(args.sources, Settings(args.max, args.seed, (), args.jobs)):
            print(row)
    if args.manifest.is_file():
        print(f"\nrecorded in {args.manifest}:")
        print(HEADER)
        for row in from_manifest(args.manifest):
            print(row)


if __name__ == "__main__":
    main()
