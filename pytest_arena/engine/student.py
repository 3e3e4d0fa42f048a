"""The interface every student backend implements, and the settings a session sends it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args, runtime_checkable

from .corpus import FixtureSpec
from .protocol import STOP_MARKERS
from .repetition import RepetitionRule

Message = dict[str, Any]  # {"role": ..., "content": ...}; native dialects add "tool_calls", "tool_call_id"

# Why a turn's generation ended: "stop" (the model ended it), "length" (token cap), "context"
# (context exhausted), "timeout", "repetition" (the degeneration stop cut it; extra["repetition"]
# says where and why), or what an OpenAI-compatible server reports beyond those.
FinishReason = Literal[
    "stop", "length", "context", "timeout", "repetition", "tool_calls", "content_filter", "function_call"
]
_FINISH_REASONS: dict[str, FinishReason] = {name: name for name in get_args(FinishReason)}


# The model ended these turns itself: a tool-call turn ends as deliberately as a text one
# (llama-server, OpenAI and llama-cpp-python all report such a turn as "tool_calls").
ENDED_BY_MODEL: frozenset[FinishReason] = frozenset({"stop", "tool_calls", "function_call"})


def cut_short(reason: FinishReason) -> bool:
    """The turn was cut (token cap, context, timeout, repetition, filter), not ended by the model."""
    return reason not in ENDED_BY_MODEL


def finish_reason(value: object) -> FinishReason:
    """A backend's finish reason as a FinishReason: none, or a name no backend documents, is "stop"."""
    return _FINISH_REASONS.get(value, "stop") if isinstance(value, str) else "stop"


class StudentError(Exception):
    """The backend failed (cannot load, crash, server down): becomes DriverError."""


class StudentWarning(UserWarning):
    """Something the user should know about a student that still runs (a capped option, a cache
    that cannot be saved, a template replaced by ChatML): one line in pytest's warnings summary."""


def warn_user(message: str) -> None:
    """One line in the warnings summary, without a source line: the message names its own cause."""
    warnings.warn_explicit(StudentWarning(message), StudentWarning, filename="pytest-arena", lineno=0)


class ContextExhausted(StudentError):
    """The prompt no longer fits the model's context: the session ends as ContextExhausted, the
    student's ending (counted in pass rates), not a backend fault."""

    def __init__(self, prompt_tokens: int, n_ctx: int) -> None:
        super().__init__(f"context exhausted: the prompt is {prompt_tokens} tokens and n_ctx is {n_ctx}")
        self.prompt_tokens, self.n_ctx = prompt_tokens, n_ctx


RECORDED_SETTINGS = (
    "temperature",
    "top_k",
    "top_p",
    "min_p",
    "repeat_penalty",
    "seed",
    "max_tokens",
    "constrained",
    "turn_timeout_s",
)


@dataclass(frozen=True)
class StudentConfig:
    """Sampling settings, sent explicitly on every call (backends' own defaults differ)."""

    temperature: float = 0.0
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    seed: int = 0
    max_tokens: int = 1024
    stop: tuple[str, ...] = STOP_MARKERS
    constrained: bool = False
    # Native tool calls: "auto" (the model chooses) or "required" (the server is asked to force one).
    tool_choice: str = "auto"
    tool_schema: str = ""  # JSON schema of one tool call, set by the session for constrained decoding
    turn_timeout_s: float = 600.0  # a backend that does not answer within this fails the session
    repetition_stop: RepetitionRule | None = RepetitionRule()  # None: turns run to their cap
    dialect: str = "arena"  # the session's dialect (how the reference student writes its calls)
    tools: tuple[Any, ...] = ()  # OpenAI function schemas, when the template or the server renders the tools

    def record(self) -> dict[str, Any]:
        """The settings a record keeps: every sampling value as sent, and the limits on a turn."""
        kept = {name: getattr(self, name) for name in RECORDED_SETTINGS}
        return kept | {"repetition_stop": self.repetition_stop.spec() if self.repetition_stop else "off"}


@dataclass
class GenerationResult:
    text: str
    finish_reason: FinishReason = "stop"
    prompt_tokens: int = 0
    prefill_tokens: int = 0  # prompt tokens actually evaluated (the rest came from the KV cache)
    completion_tokens: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    prompt_text: str = ""  # the exact prompt the backend built (rendered template, or the request's JSON)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # native calls: id, name, arguments
    cached: bool = False  # replayed from the response cache (--arena-cache): the model was not asked


@runtime_checkable
class Student(Protocol):
    """A model under test. ``start`` begins a session on one fixture; ``generate`` is one turn."""

    name: str

    def start(self, fixture: FixtureSpec, config: StudentConfig) -> None: ...

    def generate(self, messages: list[Message], config: StudentConfig) -> GenerationResult: ...

    def describe(self) -> dict[str, Any]:
        """Provenance recorded with every item (model file, sha256, architecture...)."""
        ...

    # Capabilities: StudentBase gives each a default, and with_capabilities adds the defaults to a
    # student that does not derive from it, so the engine reads them without probing.
    chat_template_text: str | None  # the model's own chat template: --arena-dialect auto reads it
    native_tools: bool  # sends `tools` and reads `tool_calls` (the native dialect)

    def native_tools_blocked(self) -> str:
        """Why tools sent natively would reach no model (the server's own report, e.g. a chat
        template that renders none), '' when they would or it cannot tell: the dialect then
        falls back to a text one that describes the tools in the prompt."""
        ...

    def cancel(self) -> None:
        """Stop a generation that ran past its turn timeout; the next call waits for it to end."""
        ...

    def close(self) -> None:
        """Let go of the model (memory, a server connection) once the pool moves on."""
        ...


class StudentBase:
    """Defaults for every capability of :class:`Student`: derive a backend from it and override
    what it can do."""

    chat_template_text: str | None = None
    native_tools: bool = False

    def native_tools_blocked(self) -> str:
        return ""

    def cancel(self) -> None:
        return None

    def close(self) -> None:
        return None


_CAPABILITIES = ("chat_template_text", "native_tools", "native_tools_blocked", "cancel", "close")


def with_capabilities(student: Any) -> Student:
    """``student`` with StudentBase's default for each capability it lacks (a plugin's student
    that predates them, or that does not derive from StudentBase)."""
    for name in _CAPABILITIES:
        if not hasattr(student, name):
            setattr(student, name, getattr(StudentBase(), name))
    result: Student = student
    return result
