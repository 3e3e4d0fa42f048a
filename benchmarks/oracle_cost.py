"""What the hardened oracle costs per item, as a ratio to the warm oracle it replaced, measured side
by side in one run.

"warm" is the oracle as it was: the tests and compliance commands run in the student's own
workspace (protected files restored, warm artifacts seeded at the start of the item). "hardened"
is the oracle as it is: a clean tree (pristine repo/ + hidden/ + the warm oracle build's artifacts
+ only the student's editable changes), the suppression scan, the test command with the
harness's runner settings and per-test evidence (pytest's JUnit file, cargo's sections) against
the cached baseline, then compliance. Each repeat starts from a fresh student workspace holding
the reference solution (seeded from the warm cache, not timed), and the two oracles alternate, so
load on the machine falls on both alike.

    .venv/bin/python benchmarks/oracle_cost.py                       # 4 fixtures, 5 repeats
    .venv/bin/python benchmarks/oracle_cost.py --repeats 9 fixtures/python/unix__01-uniq

Goal (issue 19): hardened / warm <= 1.2 per item.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_arena.engine.baseline import baseline_for, overlay  # noqa: E402
from pytest_arena.engine.cleantree import judge_clean  # noqa: E402
from pytest_arena.engine.corpus import FixtureSpec, fixture_digest, load_fixture  # noqa: E402
from pytest_arena.engine.oracle import fixture_compliance, judge  # noqa: E402
from pytest_arena.engine.sandbox import Sandbox  # noqa: E402
from pytest_arena.engine.warm import WarmCache  # noqa: E402
from pytest_arena.engine.workspace import Workspace  # noqa: E402

# Three with hidden tests (the hardened oracle runs more tests there), three without.
DEFAULT_FIXTURES = (
    "fixtures/under-contract/leetcode__01-two-sum",
    "fixtures/under-contract/unix__01-wc",
    "fixtures/python/leetcode__01-roman-numerals",
    "fixtures/under-contract/oo__01-bank-account",
    "fixtures/under-contract/transpile__02-csv-to-jsonl",
    "fixtures/python/unix__02-tr",
)


def student_tree(spec: FixtureSpec, sandbox: Sandbox, warm: WarmCache, digest: str) -> Workspace:
    ws = Workspace(spec.repo_dir, spec.protected, prefix="bench-", sandbox=sandbox)
    warm.seed(spec, digest, ws)
    overlay(ws, spec.solution_dir)
    return ws


def warm_oracle(spec: FixtureSpec, ws: Workspace) -> bool:
    ws.restore_protected()
    ws.freshen(ws.changed_files())
    return judge(spec, ws, fixture_compliance(spec)).passed


def hardened_oracle(spec: FixtureSpec, ws: Workspace, warm: WarmCache, digest: str) -> bool:
    ws.restore_protected()
    ws.freshen(ws.changed_files())
    baseline = baseline_for(spec, ws.sandbox)
    verdict, _ = judge_clean(
        spec, ws.sandbox, fixture_compliance(spec), student=ws, warm=warm, digest=digest, baseline=baseline
    )
    return verdict.passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fixtures", nargs="*", default=list(DEFAULT_FIXTURES))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sandbox_kind = "bwrap" if any(Path(p, "bwrap").exists() for p in os.environ["PATH"].split(":")) else "none"
    warm = WarmCache()
    print(f"load average before: {os.getloadavg()[0]:.2f}; sandbox {sandbox_kind}; {args.repeats} repeats")
    print(f"{'fixture':<32} {'hidden':>6} {'warm s':>8} {'hardened s':>11} {'ratio':>6}")
    ratios: dict[bool, list[float]] = {True: [], False: []}
    for folder in args.fixtures:
        spec = load_fixture(ROOT / folder)
        sandbox = Sandbox(kind=sandbox_kind, hidden=(spec.directory,))
        digest = fixture_digest(spec.directory)
        baseline_for(spec, sandbox)  # derived once, cached: an item finds it ready
        for hidden in (False, True):
            warm.artifacts(spec, digest, sandbox, hidden)
        times: dict[str, list[float]] = {"warm": [], "hardened": []}
        for _ in range(args.repeats):
            for name in ("warm", "hardened"):
                ws = student_tree(spec, sandbox, warm, digest)
                try:
                    started = time.perf_counter()
                    ok = warm_oracle(spec, ws) if name == "warm" else hardened_oracle(spec, ws, warm, digest)
                    times[name].append(time.perf_counter() - started)
                finally:
                    ws.cleanup()
                if not ok:
                    print(f"{spec.id}: the {name} oracle failed the reference solution", file=sys.stderr)
                    return 1
        before, after = statistics.median(times["warm"]), statistics.median(times["hardened"])
        has_hidden = spec.hidden_dir.is_dir()
        ratios[has_hidden].append(after / before)
        print(f"{spec.id:<32} {'yes' if has_hidden else 'no':>6} {before:>8.2f} {after:>11.2f} {after / before:>6.2f}")
    every = ratios[True] + ratios[False]
    print(f"geometric mean ratio hardened/warm: {statistics.geometric_mean(every):.2f} (goal <= 1.2)")
    for hidden, label in ((False, "without hidden tests (the hardening itself)"), (True, "with hidden tests")):
        if ratios[hidden]:
            print(f"  {label}: {statistics.geometric_mean(ratios[hidden]):.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
