"""One streamed chat completion as it arrives (server-sent events): its text pieces, the native
calls assembled from their deltas, the finish reason, the token counts, and an error event.

Every piece, content or call arguments, goes through the degeneration stop: a call whose
arguments loop is cut like looping text. The token counts come from the last chunk's ``usage``
(``stream_options.include_usage``) or, on a stream cut before its end, from llama-server's
``timings`` (``timings_per_token`` puts them on every chunk)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import httpx

from ..engine.repetition import RepetitionDetector
from ..engine.student import FinishReason, GenerationResult, StudentError, finish_reason
from .http_limits import capped_lines
from .openai_server import JsonObject, MalformedCall

# What a malformed answer raises while it is read: a clear DriverError, never a traceback.
MALFORMED = (ValueError, KeyError, IndexError, TypeError, AttributeError)


def mapping(value: object) -> JsonObject:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def sse_events(response: httpx.Response, url: str) -> Iterator[JsonObject]:
    for line in capped_lines(response, url):
        data = line.removeprefix("data:").strip() if line.startswith("data:") else ""
        if not data:
            continue
        if data == "[DONE]":
            return
        try:
            event: object = json.loads(data)
        except ValueError:
            raise StudentError(f"{url}: not an OpenAI chat completion stream: {line[:300]}") from None
        if isinstance(event, Mapping):
            yield event


def whole_as_event(body: object) -> JsonObject:
    """A non-streamed completion as one stream event (a server that does not stream answers at once)."""
    whole = mapping(body)
    choice = mapping(_list(whole["choices"])[0])
    return {
        "choices": [{"delta": mapping(choice["message"]), "finish_reason": choice.get("finish_reason")}],
        "usage": whole.get("usage") or {},
        "timings": whole.get("timings") or {},
    }


@dataclass
class _CallParts:
    id: str = ""
    name: str = ""
    arguments: object = None  # a JSON string in fragments, or (some servers) an object at once


class StreamReader:
    """``detector``: None for an answer that comes whole (it is not cut)."""

    def __init__(self, detector: RepetitionDetector | None, deadline: float = float("inf")) -> None:
        self.detector, self.deadline = detector, deadline
        self.pieces: list[str] = []
        self.generated = 0  # pieces of content and of call arguments: about one token each
        self.finish: FinishReason = "stop"
        self.usage: JsonObject = {}
        self.timings: JsonObject = {}
        self.failed: tuple[str, JsonObject, str] | None = None  # an error answer: (where, error, raw)
        self.calls: dict[int, _CallParts] = {}

    def take(self, event: JsonObject) -> bool:
        """Adds one event; True when the answer should be cut (or has ended) here."""
        if "error" in event:  # llama-server gave up mid-answer (and ends the stream)
            self.fail("error event mid-stream", mapping(event["error"]), json.dumps(event))
            return True
        self.usage = mapping(event.get("usage") or self.usage)
        self.timings = mapping(event.get("timings") or self.timings)
        for choice in _list(event.get("choices")):
            delta = mapping(mapping(choice).get("delta") or {})
            self._piece(str(delta.get("content") or ""))
            for position, part in enumerate(_list(delta.get("tool_calls"))):
                if isinstance(part, Mapping):
                    self._take_call(part, position)
            if reason := mapping(choice).get("finish_reason"):
                self.finish = finish_reason(reason)
        return self.cut() or time.monotonic() > self.deadline

    def fail(self, where: str, error: JsonObject, raw: str) -> None:
        self.failed = (where, error, raw)

    def cut(self) -> bool:
        return self.detector is not None and self.detector.cut is not None

    def _piece(self, piece: str, text: bool = True) -> None:
        if piece:
            self.pieces += [piece] if text else []
            self.generated += 1
            if self.detector is not None:
                self.detector.feed_text(piece)

    def _take_call(self, part: JsonObject, position: int) -> None:
        """Streamed calls arrive in pieces: the id and name once, the arguments string in fragments."""
        index = part.get("index")
        slot = self.calls.setdefault(index if isinstance(index, int) else position, _CallParts())
        slot.id = str(part.get("id") or slot.id)
        function = mapping(part.get("function") or {})
        slot.name = slot.name or str(function.get("name") or "")
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            slot.arguments = (slot.arguments if isinstance(slot.arguments, str) else "") + arguments
            self._piece(arguments, text=False)
        elif arguments is not None:
            slot.arguments = arguments

    def partial_calls(self) -> str:
        """The calls received so far, as the record shows a call the server could not parse."""
        return "; ".join(f"{c.name}({c.arguments if c.arguments is not None else ''})" for c in self.calls.values())

    def result(self, seconds: float, prompt_text: str, malformed: MalformedCall | None = None) -> GenerationResult:
        extra: dict[str, object] = {}
        finish = self.finish
        if self.detector is not None and self.detector.cut is not None:
            finish, extra["repetition"] = "repetition", self.detector.cut.describe()
        elif time.monotonic() > self.deadline:
            finish = "timeout"
        if malformed is not None:
            extra["malformed_call"] = malformed.note(self.partial_calls())
        prompt, prefill, completion = token_counts(self.usage, self.timings, self.generated)
        calls = [] if malformed else [c for i in sorted(self.calls) if (c := self.calls[i]).name]
        return GenerationResult(
            text="".join(self.pieces),
            finish_reason=finish,
            prompt_tokens=prompt,
            prefill_tokens=prefill,
            completion_tokens=completion,
            seconds=seconds,
            extra=extra,
            prompt_text=prompt_text,
            tool_calls=[{"id": c.id, "name": c.name, "arguments": _arguments(c.arguments)} for c in calls],
        )


def token_counts(usage: JsonObject, timings: JsonObject, generated: int) -> tuple[int, int, int]:
    """(prompt, prefill, completion) tokens from ``usage``, else llama-server's ``timings`` (its
    cache_n tokens came from the KV cache, prompt_n were evaluated), else ``generated`` pieces."""
    prompt = _int(usage.get("prompt_tokens")) or _int(timings.get("cache_n")) + _int(timings.get("prompt_n"))
    prefill = _int(timings.get("prompt_n")) if "prompt_n" in timings else prompt
    if "completion_tokens" in usage:
        return prompt, prefill, _int(usage.get("completion_tokens"))
    # a stream cut before its usage: the count so far, or a piece per token
    return prompt, prefill, _int(timings.get("predicted_n")) if "predicted_n" in timings else generated


def _arguments(value: object) -> object:
    return {} if value is None else value


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _int(value: object) -> int:
    """A count as servers send it (a number); anything else raises, a malformed answer."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"expected a token count, got {value!r}")
    return int(value)
