#!/usr/bin/env python
"""What makes the main job fast, measured side by side in one run (on demand, not in CI):

    .venv/bin/python benchmarks/main_job.py [oracle] [harness] [xdist] [floor] [coldcache] [degeneration] [rss]
                                            [--repeats 3] [--sweep 6] [--leetcode 7] [--turns 4]

- oracle:       the warm oracle's test command (sandboxed, seeded workspace) / a bare incremental
                ``cargo test`` on the same edited crate, both after the same edit. Goal <= 1.5x.
- warmth:       the reference student on Rust and on Python fixtures, --arena-cold vs warm: oracle
                time and session wall.
- harness:      a reference sweep: (wall - generation - tools - oracle) / wall, per item (inside the
                session) and for the whole pytest process (startup and collection included). Goal <= 2%.
- xdist:        a reference sweep of --xdist-sweep Rust fixtures with -n 2 and -n 1: items per CPU-second
                and per wall-second (without the sandbox: getrusage does not see CPU spent inside
                bwrap's pid namespace). Long enough that a second worker's start-up (a Python
                process, pytest, the plugin, collection: ~0.7 CPU-s) is not most of the difference.
                Goal: within 10%.
- floor:        the main job itself (the default student on both corpora, -n 2): wall x workers
                against the sum of the records' generation time (prefill and decode: what the model
                needed). Goal <= 1.15.
- coldcache:    a reference sweep of --cold-sweep Rust fixtures with an empty XDG_CACHE_HOME (first
                run: warm builds and baselines made, by the warm-up phase) against the same again
                (second run). Goal <= 1.5x.
- degeneration: the default student on the leetcode items with --arena-max-turns 4, repetition stop
                off vs on: wall time and completion tokens. Expect >= 3x fewer tokens.
- rss:          peak RSS of one process holding the default model after one real turn (a worker's
                share of memory).

With no part named, all run. Ratios compare runs made in this same process, one after another.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_arena.engine.commands import toolchain_env  # noqa: E402
from pytest_arena.engine.corpus import fixture_digest, load_fixture  # noqa: E402
from pytest_arena.engine.sandbox import Sandbox  # noqa: E402
from pytest_arena.engine.warm import WarmCache  # noqa: E402
from pytest_arena.engine.workspace import Workspace  # noqa: E402

CORPUS = ROOT / "fixtures" / "under-contract"
PYTHON_CORPUS = ROOT / "fixtures" / "python"


def oracle(repeats: int) -> None:
    spec = load_fixture(CORPUS / "leetcode__01-two-sum")
    cache = WarmCache(Path(tempfile.mkdtemp(prefix="bench-warm-")))
    solution = (spec.solution_dir / "src" / "lib.rs").read_text(encoding="utf-8")
    warm_s, bare_s = [], []
    for _ in range(repeats):
        ws = Workspace(spec.repo_dir, spec.protected, sandbox=Sandbox())
        bare = Path(tempfile.mkdtemp(prefix="bench-bare-")) / "crate"
        try:
            cache.seed(spec, fixture_digest(spec.directory), ws)
            shutil.copytree(ws.root, bare, symlinks=True)  # the same seeded crate, outside any sandbox
            for root in (ws.root, bare):
                (root / "src" / "lib.rs").write_text(solution, encoding="utf-8")
            ws.freshen(ws.changed_files())
            started = time.monotonic()
            result = ws.run(spec.oracle_cmd, spec.oracle_timeout_s)
            warm_s.append(time.monotonic() - started)
            assert result.ok, result.output[-500:]
            started = time.monotonic()
            subprocess.run(
                ["cargo", "test", "--offline"], cwd=bare, env=toolchain_env(), capture_output=True, check=True
            )
            bare_s.append(time.monotonic() - started)
        finally:
            ws.cleanup()
            shutil.rmtree(bare.parent, ignore_errors=True)
    cache.clear()
    warm, base = statistics.median(warm_s), statistics.median(bare_s)
    print(f"oracle: warm oracle tests {warm:.2f}s, bare incremental cargo test {base:.2f}s: {warm / base:.2f}x")


def _sweep_fixtures(count: int) -> list[str]:
    rust = sorted(str(p.parent) for p in CORPUS.glob("*/meta.toml"))
    return rust[:count]


def _pytest(args: list[str], reports: Path, xdg: Path | None = None) -> tuple[float, float, list[dict[str, object]]]:
    """(wall s, CPU s of pytest and everything it started, records); ``xdg``: its XDG_CACHE_HOME."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    if xdg is not None:
        env["XDG_CACHE_HOME"] = str(xdg)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--arena", f"--arena-reports={reports}"]
        + args,
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=False,
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    records = [json.loads(line) for line in (reports / "latest" / "results.jsonl").read_text().splitlines() if line]
    return wall, cpu, records


def harness(sweep: int) -> None:
    fixtures = _sweep_fixtures(sweep)
    with tempfile.TemporaryDirectory() as tmp:
        _pytest(["--arena-student", "reference", "-n", "1", *fixtures], Path(tmp) / "prime")  # warm build cached
        junit = Path(tmp) / "junit.xml"
        args = ["--arena-student", "reference", "-p", "no:xdist", f"--junitxml={junit}", *fixtures]
        wall, _, records = _pytest(args, Path(tmp) / "r")
        # pytest's own duration of each item: setup (workspace, seeding), session, recording, teardown
        items = sum(float(case.get("time", 0)) for case in ElementTree.parse(junit).iter("testcase"))
    parts = sum(float(str(r[key])) for r in records for key in ("generation_s", "tools_s", "oracle_s"))
    sessions = sum(float(str(r["wall_s"])) for r in records)
    print(
        f"harness: {len(records)} reference items; (wall - generation - tools - oracle) / wall = "
        f"{(sessions - parts) / sessions:.1%} inside sessions ({sessions:.1f}s), "
        f"{(items - parts) / items:.1%} per item as pytest times it ({items:.1f}s), "
        f"{(wall - parts) / wall:.1%} for the whole process ({wall:.1f}s, startup and collection included)"
    )


def warmth(sweep: int) -> None:
    """The reference student with and without the warm oracle, Rust and Python fixtures."""
    rust = _sweep_fixtures(sweep)
    python = sorted(str(p.parent) for p in PYTHON_CORPUS.glob("*/meta.toml"))[:sweep]
    with tempfile.TemporaryDirectory() as tmp:
        for name, fixtures in (("rust", rust), ("python", python)):
            common = ["--arena-student", "reference", "-p", "no:xdist", *fixtures]
            _pytest(common, Path(tmp) / f"{name}-prime")  # builds the warm cache
            totals = {}
            for mode in ("cold", "warm"):
                _, _, records = _pytest([*common, *(["--arena-cold"] if mode == "cold" else [])], Path(tmp) / mode)
                oracle_s = sum(float(str(r["oracle_s"])) for r in records)
                totals[mode] = (oracle_s, sum(float(str(r["wall_s"])) for r in records))
                outcomes = Counter(str(r["outcome"]) for r in records)
                print(f"warmth {name} {mode}: {len(records)} items, oracle {oracle_s:.1f}s, sessions "
                      f"{totals[mode][1]:.1f}s, {dict(outcomes)}")  # fmt: skip
            print(
                f"warmth {name}: oracle warm/cold {totals['warm'][0] / totals['cold'][0]:.2f}x, "
                f"session wall warm/cold {totals['warm'][1] / totals['cold'][1]:.2f}x"
            )


def xdist(sweep: int) -> None:
    fixtures = _sweep_fixtures(sweep)
    print(f"xdist: {len(fixtures)} reference items")
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Unsandboxed: CPU time of commands inside bwrap's pid namespace is not reported to the
        # parent (getrusage), and the count must include the oracle's cargo.
        common = ["--arena-student", "reference", "--arena-sandbox", "none", "-W", "ignore", *fixtures]
        _pytest(["-n", "1", *common], Path(tmp) / "prime")
        for workers in ("1", "2"):
            args = ["-n", workers, *common]
            wall, cpu, records = _pytest(args, Path(tmp) / workers)
            rates[workers] = (len(records) / cpu, len(records) / wall)
            print(f"xdist -n {workers}: {len(records)} items, {wall:.1f}s wall, {cpu:.1f} CPU-s")
    print(
        f"xdist: items per CPU-second -n 2 / -n 1 = {rates['2'][0] / rates['1'][0]:.2f}x (goal >= 0.90); "
        f"items per wall-second {rates['2'][1] / rates['1'][1]:.2f}x"
    )


def floor(workers: int) -> None:
    """The main job against the time its model needed: everything else is the harness's, or idle."""
    with tempfile.TemporaryDirectory() as tmp:
        _pytest(["--arena-student", "reference", "-n", str(workers)], Path(tmp) / "prime")  # warm caches
        wall, _, records = _pytest(["-n", str(workers)], Path(tmp) / "main")  # the default student
    generation = sum(float(str(r["generation_s"])) for r in records)
    tokens = sum(int(str(r["tokens_completion"])) for r in records), sum(int(str(r["tokens_prompt"])) for r in records)
    print(
        f"floor: main job {len(records)} items, -n {workers}, {wall:.1f}s wall; generation {generation:.1f}s "
        f"({tokens[0]} completion, {tokens[1]} prompt tokens); wall x workers / generation = "
        f"{wall * workers / generation:.2f} (goal <= 1.15)"
    )
    spent = {key: sum(float(str(r[key])) for r in records) for key in ("tools_s", "oracle_s", "wall_s")}
    inside = spent["wall_s"] - generation - spent["tools_s"] - spent["oracle_s"]
    print(
        f"floor: of {wall * workers:.0f} worker-seconds: generation {generation:.0f}, the student's tools "
        f"{spent['tools_s']:.0f}, oracle {spent['oracle_s']:.0f}, the rest of the sessions {inside:.0f}, outside "
        f"the sessions {wall * workers - spent['wall_s']:.0f} (start-up, model loads, set-up, idle workers)"
    )


def coldcache(count: int) -> None:
    """A first run (empty cache) against a second one, the reference student on Rust fixtures."""
    fixtures = _sweep_fixtures(count)
    with tempfile.TemporaryDirectory() as tmp:
        xdg = Path(tmp) / "xdg"
        walls = {}
        for run in ("cold", "warm"):
            walls[run], _, records = _pytest(
                ["--arena-student", "reference", "-p", "no:xdist", *fixtures], Path(tmp) / run, xdg
            )
            outcomes = dict(Counter(str(r["outcome"]) for r in records))
            print(f"coldcache {run}: {len(records)} items, {walls[run]:.1f}s wall, {outcomes}")
    print(f"coldcache: first run / second run = {walls['cold'] / walls['warm']:.2f}x (goal <= 1.5)")


def degeneration(count: int, turns: int) -> None:
    found = CORPUS.glob("leetcode__*/meta.toml"), PYTHON_CORPUS.glob("leetcode__*/meta.toml")
    leetcode = sorted(str(p.parent) for paths in found for p in paths)
    chosen = leetcode[:count]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for stop in ("off", "64:8"):
            args = ["-p", "no:xdist", f"--arena-max-turns={turns}", f"--arena-repetition-stop={stop}", *chosen]
            wall, _, records = _pytest(args, Path(tmp) / stop.replace(":", "-"))
            tokens = sum(int(str(r["tokens_completion"])) for r in records)
            cut = sum(int(str(r["truncated_turns"])) for r in records)
            outcomes = sorted(str(r["outcome"]) for r in records)
            results[stop] = (wall, tokens)
            print(f"degeneration stop {stop}: {len(records)} items, {wall:.0f}s, {tokens} completion tokens, "
                  f"{cut} turns cut or capped; outcomes {outcomes}")  # fmt: skip
    (off_wall, off_tokens), (on_wall, on_tokens) = results["off"], results["64:8"]
    print(
        f"degeneration: tokens off/on = {off_tokens / max(on_tokens, 1):.2f}x, wall off/on = {off_wall / on_wall:.2f}x"
    )


RSS_PROBE = """
import resource, sys
import pytest, pytest_arena.plugin
from pytest_arena.engine.corpus import load_fixture
from pytest_arena.engine.opening import open_session
from pytest_arena.engine.student import StudentConfig
from pytest_arena.students.llama_cpp import LlamaCppStudent, default_model_path
from pytest_arena.engine.tools import BUILTIN_TOOLS
spec = load_fixture(sys.argv[1])
student = LlamaCppStudent(default_model_path(), name="default")
opening = open_session(spec, spec.repo_dir, student, StudentConfig(max_tokens=256), "auto", BUILTIN_TOOLS)
student.start(spec, opening.config)
student.generate(opening.messages, opening.config)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def rss() -> None:
    out = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, str(CORPUS / "leetcode__01-two-sum")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    peak = int(out.stdout.split()[-1]) / 1024
    print(f"rss: peak RSS of a process with the default model after one turn: {peak:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parts = ("oracle", "warmth", "harness", "xdist", "floor", "coldcache", "degeneration", "rss")
    parser.add_argument("parts", nargs="*", choices=(*parts, []))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sweep", type=int, default=6, help="reference items in the harness and xdist sweeps")
    parser.add_argument("--leetcode", type=int, default=7, help="leetcode items in the degeneration part")
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="xdist workers of the floor part's main job")
    parser.add_argument("--cold-sweep", type=int, default=20, help="Rust fixtures in the coldcache part")
    parser.add_argument("--xdist-sweep", type=int, default=20, help="Rust fixtures in the xdist part")
    args = parser.parse_args()
    parts = args.parts or list(parts)
    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs")
    for part in parts:
        if part == "oracle":
            oracle(args.repeats)
        elif part == "warmth":
            warmth(args.sweep)
        elif part == "harness":
            harness(args.sweep)
        elif part == "xdist":
            xdist(args.xdist_sweep)
        elif part == "floor":
            floor(args.workers)
        elif part == "coldcache":
            coldcache(args.cold_sweep)
        elif part == "degeneration":
            degeneration(args.leetcode, args.turns)
        else:
            rss()
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
