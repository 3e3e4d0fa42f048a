#!/usr/bin/env python
"""What makes the main job fast, measured side by side in one run (on demand, not in CI):

    .venv/bin/python benchmarks/main_job.py [oracle] [harness] [xdist] [degeneration] [rss]
                                            [--repeats 3] [--sweep 6] [--leetcode 7] [--turns 4]

- oracle:       the warm oracle's test command (sandboxed, seeded workspace) / a bare incremental
                ``cargo test`` on the same edited crate, both after the same edit. Goal <= 1.5x.
- harness:      a reference sweep: (wall - generation - tools - oracle) / wall, per item (inside the
                session) and for the whole pytest process (startup and collection included). Goal <= 2%.
- xdist:        the same sweep with -n 2 and -n 1: items per CPU-second and per wall-second.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_arena.commands import toolchain_env  # noqa: E402
from pytest_arena.corpus import fixture_digest, load_fixture  # noqa: E402
from pytest_arena.sandbox import Sandbox  # noqa: E402
from pytest_arena.warm import WarmCache  # noqa: E402
from pytest_arena.workspace import Workspace  # noqa: E402

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


def _pytest(args: list[str], reports: Path) -> tuple[float, float, list[dict[str, object]]]:
    """(wall s, CPU s of pytest and everything it started, records)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
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
        wall, _, records = _pytest(["--arena-student", "reference", "-p", "no:xdist", *fixtures], Path(tmp) / "r")
    parts = sum(float(str(r[key])) for r in records for key in ("generation_s", "tools_s", "oracle_s"))
    item_wall = sum(float(str(r["wall_s"])) for r in records)
    print(
        f"harness: {len(records)} reference items; inside sessions {(item_wall - parts) / item_wall:.1%} of "
        f"{item_wall:.1f}s; whole process {(wall - parts) / wall:.1%} of {wall:.1f}s (startup, collection included)"
    )


def xdist(sweep: int) -> None:
    fixtures = _sweep_fixtures(sweep)
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        _pytest(["--arena-student", "reference", "-n", "1", *fixtures], Path(tmp) / "prime")
        for workers in ("1", "2"):
            args = ["--arena-student", "reference", "-n", workers, *fixtures]
            wall, cpu, records = _pytest(args, Path(tmp) / workers)
            rates[workers] = (len(records) / cpu, len(records) / wall)
            print(f"xdist -n {workers}: {len(records)} items, {wall:.1f}s wall, {cpu:.1f} CPU-s")
    print(
        f"xdist: items per CPU-second -n 2 / -n 1 = {rates['2'][0] / rates['1'][0]:.2f}x; "
        f"items per wall-second {rates['2'][1] / rates['1'][1]:.2f}x"
    )


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
from pytest_arena.corpus import load_fixture
from pytest_arena.protocol import system_prompt, task_message
from pytest_arena.students.base import StudentConfig
from pytest_arena.students.llama_cpp import LlamaCppStudent, default_model_path
from pytest_arena.tools import BUILTIN_TOOLS
from pytest_arena.workspace import iter_files
spec = load_fixture(sys.argv[1])
student = LlamaCppStudent(default_model_path(), name="default")
config = StudentConfig(max_tokens=256)
student.start(spec, config)
messages = [{"role": "system", "content": system_prompt(BUILTIN_TOOLS.values())},
            {"role": "user", "content": task_message(spec.prompt, iter_files(spec.repo_dir))}]
student.generate(messages, config)
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
    parser.add_argument("parts", nargs="*", choices=("oracle", "harness", "xdist", "degeneration", "rss", []))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sweep", type=int, default=6, help="reference items in the harness and xdist sweeps")
    parser.add_argument("--leetcode", type=int, default=7, help="leetcode items in the degeneration part")
    parser.add_argument("--turns", type=int, default=4)
    args = parser.parse_args()
    parts = args.parts or ["oracle", "harness", "xdist", "degeneration", "rss"]
    print(f"load average {os.getloadavg()}, {os.cpu_count()} CPUs")
    for part in parts:
        if part == "oracle":
            oracle(args.repeats)
        elif part == "harness":
            harness(args.sweep)
        elif part == "xdist":
            xdist(args.sweep)
        elif part == "degeneration":
            degeneration(args.leetcode, args.turns)
        else:
            rss()
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
