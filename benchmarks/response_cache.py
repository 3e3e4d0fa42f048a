#!/usr/bin/env python
"""A re-run campaign with and without the response cache (--arena-cache), measured side by side in
one run (on demand, not in CI):

    .venv/bin/python benchmarks/response_cache.py [--turns 2] [FIXTURE_DIR ...]

The default student (SmolLM2-135M) runs the same cheap Python fixtures four times, each a fresh
pytest process, in one private XDG_CACHE_HOME:

1. prime: the reference student, so the baselines and warm builds exist before anything is timed;
2. plain: the default student without the cache (what every re-run costs today);
3. fill: the default student with --arena-cache and an empty cache (the first run of a campaign);
4. replay: the same again (a resumed or re-scored campaign): every turn the cache holds is replayed.

It prints each run's wall time, generation time, turns and cache hits, and the ratios replay/plain
and fill/plain. The outcomes and token counts of plain, fill and replay must agree: the student is
greedy (temperature 0, seed 0), so the cache replays what the model would have said.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.campaign import Run, read_run  # noqa: E402

DEFAULT_FIXTURES = (
    "fixtures/python/leetcode__01-roman-numerals",
    "fixtures/python/unix__02-tr",
)


def campaign(student: str, fixtures: list[str], turns: int, reports: Path, env: dict[str, str], *extra: str) -> Run:
    """One pytest process: wall seconds and the records it wrote."""
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--arena", f"--arena-reports={reports}"]
    args += ["--arena-student", student, "--arena-max-turns", str(turns), *extra, *fixtures]
    started = time.monotonic()
    subprocess.run(args, cwd=ROOT, env=env, capture_output=True, check=False)
    wall = time.monotonic() - started
    run = read_run(wall, reports)
    if run is None:
        raise SystemExit(f"{student}: no results in {reports}")
    return run


def summary(name: str, run: Run) -> str:
    outcomes = ", ".join(str(r["outcome"]) for r in run.records)
    return (
        f"{name:<7} {run.wall:8.1f} {run.total('generation_s'):10.1f} {run.total('turns'):6.0f} "
        f"{run.total('cache_hits'):6.0f}  {outcomes}"
    )


def same(a: Run, b: Run) -> bool:
    keys = ("item", "outcome", "turns", "tokens_prompt", "tokens_completion")
    return [[r[k] for k in keys] for r in a.records] == [[r[k] for k in keys] for r in b.records]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fixtures", nargs="*", default=list(DEFAULT_FIXTURES))
    parser.add_argument("--turns", type=int, default=2, help="--arena-max-turns of every run (default 2)")
    args = parser.parse_args()
    fixtures = [str(ROOT / f) for f in args.fixtures]
    with tempfile.TemporaryDirectory(prefix="bench-response-cache-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env["XDG_CACHE_HOME"] = str(Path(tmp) / "xdg")
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        print(
            f"response_cache  {time.strftime('%Y-%m-%dT%H:%M:%S%z')}  {len(fixtures)} fixtures  "
            f"max turns {args.turns}  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        campaign("reference", fixtures, args.turns, Path(tmp) / "prime", env)
        plain = campaign("default", fixtures, args.turns, Path(tmp) / "plain", env)
        fill = campaign("default", fixtures, args.turns, Path(tmp) / "fill", env, "--arena-cache")
        replay = campaign("default", fixtures, args.turns, Path(tmp) / "replay", env, "--arena-cache")
        entries = list((Path(tmp) / "xdg" / "pytest-arena" / "responses").glob("*/*.json"))
    print(f"{'run':<7} {'wall s':>8} {'gen s':>10} {'turns':>6} {'hits':>6}  outcomes")
    for name, run in (("plain", plain), ("fill", fill), ("replay", replay)):
        print(summary(name, run))
    print(f"cache entries stored: {len(entries)}")
    print(f"wall replay/plain {replay.wall / plain.wall:.3f}  fill/plain {fill.wall / plain.wall:.3f}")
    generated = plain.total("generation_s")
    print(f"generation time replay/plain {replay.total('generation_s') / generated:.4f}" if generated else "")
    print(f"same outcomes, turns and token counts: plain=fill {same(plain, fill)}, fill=replay {same(fill, replay)}")
    print(f"load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
