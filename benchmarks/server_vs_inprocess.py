#!/usr/bin/env python
"""Many agents, one server (issue 22 item 2): items per minute with N xdist workers against one
llama-server of N slots, beside N in-process llama-cpp-python students, measured side by side in
one run (on demand, not in CI):

    .venv/bin/python benchmarks/server_vs_inprocess.py [--workers 2] [--turns 2] [--repeats 1] [FIXTURE_DIR ...]

Needs the server of `./run setup --server`. Both sides run the same GGUF (the default student's,
or --model) on the same fixtures with the same settings: temperature 0, seed 0, the `arena` text
dialect on both (SmolLM2's template has no tool support, so a native request would fall back to a
text dialect anyway; one dialect keeps the prompts alike), each a fresh `pytest -n N` process in
one private XDG_CACHE_HOME, after a reference run that builds the baselines and warm trees.

- inprocess: `--arena-student llama:GGUF`: every worker loads the model and decodes alone.
- server: `./run serve GGUF --parallel N` (started before the clock, its start-up printed apart),
  `--arena-student openai:...`: the workers' requests are decoded in the server's batch.

It prints each run's wall time, items per minute, generation seconds, generated tokens and tokens
per wall second (greedy decoding on two engines need not give the same text, so the answers'
lengths differ: tokens per second is the fairer rate), and both ratios server/inprocess.
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
from pytest_arena.llama_server_build import runs, server_path  # noqa: E402
from pytest_arena.serve import student_spec  # noqa: E402
from pytest_arena.students.llama_cpp import default_model_path  # noqa: E402

DEFAULT_FIXTURES = (
    "fixtures/python/leetcode__01-roman-numerals",
    "fixtures/python/leetcode__02-merge-intervals",
    "fixtures/python/unix__01-uniq",
    "fixtures/python/unix__02-tr",
)


def campaign(student: str, args: argparse.Namespace, fixtures: list[str], reports: Path, env: dict[str, str]) -> Run:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--arena", f"--arena-reports={reports}"]
    command += ["-n", str(args.workers), "--arena-student", student, "--arena-dialect", "arena"]
    command += ["--arena-max-turns", str(args.turns), "--arena-max-tokens", str(args.tokens), *fixtures]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    run = read_run(wall, reports)
    if run is None:
        raise SystemExit(f"{student}: no results ({done.stdout[-2000:]}{done.stderr[-2000:]})")
    return run


def serve(model: Path, workers: int, port: int) -> tuple[subprocess.Popen[str], float]:
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "pytest_arena.serve", str(model), "--port", str(port), "--parallel", str(workers)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    for _ in range(2):
        if not server.stdout.readline():
            raise SystemExit("./run serve ended before the server was ready")
    return server, time.monotonic() - started


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def row(name: str, run: Run) -> str:
    outcomes = ", ".join(sorted(str(r["outcome"]) for r in run.records))
    return (
        f"{name:<10} {run.wall:8.1f} {run.per_minute:9.2f} {run.total('generation_s'):8.1f} "
        f"{run.total('tokens_completion'):8.0f} {run.total('tokens_completion') / run.wall:8.1f}  {outcomes}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fixtures", nargs="*", default=list(DEFAULT_FIXTURES))
    parser.add_argument("--workers", type=int, default=2, help="xdist workers and server slots (default 2)")
    parser.add_argument("--turns", type=int, default=2, help="--arena-max-turns (default 2)")
    parser.add_argument("--tokens", type=int, default=256, help="--arena-max-tokens (default 256)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each side, alternating (default 1)")
    parser.add_argument("--model", type=Path, default=None, help="the GGUF (default: the default student's)")
    args = parser.parse_args()
    if runs(server_path()) is None:
        print(f"no llama-server at {server_path()}: run ./run setup --server first", file=sys.stderr)
        return 2
    model = args.model or default_model_path()
    fixtures = [str(ROOT / f) for f in args.fixtures]
    port = free_port()
    server, startup = serve(model, args.workers, port)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
            env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
            env["XDG_CACHE_HOME"] = str(Path(tmp) / "xdg")
            print(
                f"server_vs_inprocess  {time.strftime('%Y-%m-%dT%H:%M:%S%z')}  {model.name}  {len(fixtures)} fixtures  "
                f"{args.workers} workers  max turns {args.turns}  max tokens {args.tokens}  "
                f"cpus {os.cpu_count()}  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
            )
            print(f"server start-up (not in the runs below): {startup:.1f}s")
            campaign("reference", args, fixtures, Path(tmp) / "prime", env)
            sides = {"inprocess": f"llama:{model}", "server": student_spec(port, model.name.removesuffix(".gguf"))}
            measured: dict[str, list[Run]] = {name: [] for name in sides}
            for repeat in range(args.repeats):
                for name, spec in sides.items():
                    measured[name].append(campaign(spec, args, fixtures, Path(tmp) / f"{name}{repeat}", env))
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"{'side':<10} {'wall s':>8} {'items/min':>9} {'gen s':>8} {'tokens':>8} {'tok/s':>8}  outcomes")
    for name, done in measured.items():
        for run in done:
            print(row(name, run))
    rate = {name: sum(r.per_minute for r in done) / len(done) for name, done in measured.items()}
    speed = {
        name: sum(r.total("tokens_completion") / r.wall for r in done) / len(done) for name, done in measured.items()
    }
    print(f"items/min server/inprocess {rate['server'] / rate['inprocess']:.3f}")
    print(f"generated tokens per wall second server/inprocess {speed['server'] / speed['inprocess']:.3f}")
    print(f"load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
