"""A student behind any OpenAI-compatible chat endpoint (llama-server, vLLM, ollama...):
``openai:URL#MODEL``."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from ..engine.corpus import FixtureSpec
from ..engine.repetition import RepetitionDetector
from ..engine.scheme_traits import TRAITS
from ..engine.student import (
    FinishReason,
    GenerationResult,
    Message,
    StudentBase,
    StudentConfig,
    StudentError,
    finish_reason,
)

CONNECT_RETRIES = 3
REQUEST_TIMEOUT_S = 600.0
# HTTP 429: waits of BASE * 2**attempt seconds, or the server's Retry-After, each at most CAP.
RATE_LIMIT_RETRIES = 5
RATE_LIMIT_BASE_S = 1.0
RATE_LIMIT_CAP_S = 30.0

# What a malformed answer raises while it is read: a clear DriverError, never a traceback.
MALFORMED = (ValueError, KeyError, IndexError, TypeError, AttributeError)


class _RateLimited(Exception):
    def __init__(self, retry_after: str | None) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def _backoff(attempt: int, retry_after: str | None) -> float:
    try:
        asked = float(retry_after) if retry_after is not None else None
    except ValueError:  # an HTTP date: the exponential wait instead
        asked = None
    wait = asked if asked is not None and asked >= 0 else RATE_LIMIT_BASE_S * 2**attempt
    return min(wait, RATE_LIMIT_CAP_S)


def _mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


class OpenAIStudent(StudentBase):
    # Sends `tools` and reads `tool_calls` when the session's dialect is native: its scheme is not text-only.
    native_tools = not TRAITS["openai"].text_only

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        name: str,
        timeout_s: float = REQUEST_TIMEOUT_S,
        retries: int = CONNECT_RETRIES,
        api_key: str = "",
    ) -> None:
        base = base_url.rstrip("/")
        self.url = base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")
        self.model, self.name, self.retries = model, name, retries
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=10.0), headers=headers)
        self._seed = 0
        self._grammar = ""
        self._grammar_status = ""

    @classmethod
    def from_spec(cls, rest: str, *, name: str) -> OpenAIStudent:
        url, _, model = rest.partition("#")
        if not url.startswith(("http://", "https://")) or not model:
            raise StudentError(
                f"openai:{rest}: expected openai:URL#MODEL, e.g. openai:http://127.0.0.1:8080#qwen3-coder"
            )
        return cls(url, model, name=name)

    def start(self, fixture: FixtureSpec, config: StudentConfig) -> None:
        self._seed = config.seed
        self._grammar, self._grammar_status = "", ""
        if config.constrained:
            try:
                from .grammar import gbnf_for

                self._grammar, self._grammar_status = gbnf_for(config.tool_schema), "sent (grammar field)"
            except Exception as exc:  # converter failures: record and run unconstrained
                self._grammar_status = f"failed: {type(exc).__name__}: {exc}"

    def _payload(self, messages: list[Message], config: StudentConfig) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": wire_messages(messages),
            "temperature": config.temperature,
            "top_p": config.top_p,
            "top_k": config.top_k,
            "min_p": config.min_p,
            "repeat_penalty": config.repeat_penalty,
            "seed": self._seed,
            "max_tokens": config.max_tokens,
            "stop": list(config.stop)[:4],
            "stream": config.repetition_stop is not None,
        }
        if payload["stream"]:  # llama-server and vLLM then end the stream with the usage
            payload["stream_options"] = {"include_usage": True}
        if self._grammar:
            payload["grammar"] = self._grammar
        if config.tools:
            payload["tools"] = list(config.tools)
            payload["tool_choice"] = "auto"
        return payload

    def _post(self, payload: dict[str, Any], timeout_s: float) -> httpx.Response:
        for attempt in range(RATE_LIMIT_RETRIES):
            response = self._post_once(payload, timeout_s)
            if response.status_code != 429:
                return response
            time.sleep(_backoff(attempt, response.headers.get("retry-after")))
        raise StudentError(
            f"{self.url}: HTTP 429 (rate limited) on {RATE_LIMIT_RETRIES} attempts, backing off each time"
        )

    def _post_once(self, payload: dict[str, Any], timeout_s: float) -> httpx.Response:
        last: Exception | None = None
        timeout = httpx.Timeout(timeout_s, connect=10.0) if timeout_s > 0 else self.client.timeout
        for attempt in range(self.retries):
            try:
                return self.client.post(self.url, json=payload, timeout=timeout)
            except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
                last = exc
                time.sleep(0.5 * 2**attempt)
            except httpx.TimeoutException:
                raise StudentError(f"{self.url}: no answer within {timeout.read:.0f}s (per-turn timeout)") from None
        raise StudentError(f"{self.url}: cannot connect after {self.retries} attempts ({last})")

    def generate(self, messages: list[Message], config: StudentConfig) -> GenerationResult:
        if config.repetition_stop is not None:
            return self._generate_streamed(messages, config, config.repetition_stop.detector())
        started = time.monotonic()
        payload = self._payload(messages, config)
        response = self._post(payload, config.turn_timeout_s)
        if response.status_code != 200:
            raise StudentError(f"{self.url}: HTTP {response.status_code}: {response.text[:300]}")
        try:
            body = _mapping(response.json())
            choice = _mapping(body["choices"][0])
            message = _mapping(choice["message"])  # null is the server's fault, not a text turn
            text = str(message.get("content") or "")
            calls = read_tool_calls(message.get("tool_calls"))
            usage = _mapping(body.get("usage") or {})
            timings = _mapping(body.get("timings") or {})  # llama-server reports what the KV cache saved
            prompt_tokens = int(usage.get("prompt_tokens") or 0)
            return GenerationResult(
                text=text,
                finish_reason=finish_reason(choice.get("finish_reason")),
                prompt_tokens=prompt_tokens,
                prefill_tokens=int(timings.get("prompt_n", prompt_tokens) or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                seconds=time.monotonic() - started,
                prompt_text=_prompt_text(payload),
                tool_calls=calls,
            )
        except MALFORMED as exc:
            raise StudentError(f"{self.url}: not an OpenAI chat completion ({exc}): {response.text[:300]}") from None

    def _generate_streamed(
        self, messages: list[Message], config: StudentConfig, detector: RepetitionDetector
    ) -> GenerationResult:
        """Server-sent events, one text piece (about one token) each: a degenerate turn is cut by
        closing the stream, which makes the server stop generating."""
        started = time.monotonic()
        deadline = started + config.turn_timeout_s if config.turn_timeout_s > 0 else float("inf")
        stream = _Stream(detector, deadline)
        payload = self._payload(messages, config)
        for attempt in range(RATE_LIMIT_RETRIES):
            try:
                self._stream_with_retries(payload, config.turn_timeout_s, stream)
                break
            except _RateLimited as exc:
                time.sleep(_backoff(attempt, exc.retry_after))
        else:
            raise StudentError(self._rate_limited())
        try:
            return stream.result(time.monotonic() - started, _prompt_text(payload))
        except MALFORMED as exc:
            raise StudentError(f"{self.url}: not an OpenAI chat completion stream ({exc})") from None

    def _rate_limited(self) -> str:
        return f"{self.url}: HTTP 429 (rate limited) on {RATE_LIMIT_RETRIES} attempts, backing off each time"

    def _stream_with_retries(self, payload: dict[str, Any], timeout_s: float, stream: _Stream) -> None:
        last: Exception | None = None
        for attempt in range(self.retries):
            try:
                self._read_stream(payload, timeout_s, stream)
                return
            except MALFORMED as exc:
                raise StudentError(f"{self.url}: not an OpenAI chat completion stream ({exc})") from None
            except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
                if stream.pieces:  # the server went away mid-answer: retrying would replay the turn
                    raise StudentError(f"{self.url}: connection lost mid-answer ({exc})") from None
                last = exc
                time.sleep(0.5 * 2**attempt)
            except httpx.TimeoutException:
                raise StudentError(f"{self.url}: no answer within {timeout_s:.0f}s (per-turn timeout)") from None
        raise StudentError(f"{self.url}: cannot connect after {self.retries} attempts ({last})")

    def _read_stream(self, payload: dict[str, Any], timeout_s: float, stream: _Stream) -> None:
        timeout = httpx.Timeout(timeout_s, connect=10.0) if timeout_s > 0 else self.client.timeout
        with self.client.stream("POST", self.url, json=payload, timeout=timeout) as response:
            if response.status_code == 429:
                raise _RateLimited(response.headers.get("retry-after"))
            if response.status_code != 200:
                response.read()
                raise StudentError(f"{self.url}: HTTP {response.status_code}: {response.text[:300]}")
            if response.headers.get("content-type", "").startswith("application/json"):
                stream.take(self._whole(response))  # a server that does not stream answers at once
                return
            for event in self._events(response):
                if stream.take(event):
                    return  # leaving the block closes the connection

    def _whole(self, response: httpx.Response) -> dict[str, Any]:
        """A non-streamed completion as one stream event."""
        response.read()
        try:
            body = _mapping(response.json())
            choice = _mapping(body["choices"][0])
            return {
                "choices": [{"delta": _mapping(choice["message"]), "finish_reason": choice.get("finish_reason")}],
                "usage": body.get("usage") or {},
                "timings": body.get("timings") or {},
            }
        except MALFORMED as exc:
            raise StudentError(f"{self.url}: not an OpenAI chat completion ({exc}): {response.text[:300]}") from None

    def _events(self, response: httpx.Response) -> Any:
        for line in response.iter_lines():
            data = line.removeprefix("data:").strip() if line.startswith("data:") else ""
            if not data:
                continue
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
            except ValueError:
                raise StudentError(f"{self.url}: not an OpenAI chat completion stream: {line[:300]}") from None
            if isinstance(event, dict):
                yield event

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"backend": "openai_http", "url": self.url, "model": self.model}
        if self._grammar_status:
            info["grammar"] = self._grammar_status
        return info

    def close(self) -> None:
        self.client.close()


class _Stream:
    """One streamed answer as it arrives: its pieces, the finish reason, the usage at the end."""

    def __init__(self, detector: RepetitionDetector, deadline: float) -> None:
        self.detector, self.deadline = detector, deadline
        self.pieces: list[str] = []
        self.finish: FinishReason = "stop"
        self.usage: dict[str, Any] = {}
        self.timings: dict[str, Any] = {}
        self.calls: dict[int, dict[str, Any]] = {}  # native tool calls, assembled from their deltas

    def take(self, event: dict[str, Any]) -> bool:
        """Adds one event; True when the answer should be cut here."""
        self.usage = _mapping(event.get("usage") or self.usage)
        self.timings = _mapping(event.get("timings") or self.timings)
        for choice in event.get("choices") or []:
            delta = _mapping(_mapping(choice).get("delta") or {})
            piece = str(delta.get("content") or "")
            if piece:
                self.pieces.append(piece)
                self.detector.feed_text(piece)
            for position, part in enumerate(delta.get("tool_calls") or []):
                if isinstance(part, dict):
                    self._take_call(part, position)
            if choice.get("finish_reason"):
                self.finish = finish_reason(choice["finish_reason"])
        return self.detector.cut is not None or time.monotonic() > self.deadline

    def _take_call(self, part: dict[str, Any], position: int) -> None:
        """Streamed calls arrive in pieces: the id and name once, the arguments string in fragments."""
        index = part.get("index")
        slot = self.calls.setdefault(index if isinstance(index, int) else position, {"function": {}})
        slot["id"] = part.get("id") or slot.get("id", "")
        function = part.get("function") or {}
        if function.get("name") and not slot["function"].get("name"):
            slot["function"]["name"] = function["name"]
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            slot["function"]["arguments"] = slot["function"].get("arguments", "") + arguments
        elif arguments is not None:
            slot["function"]["arguments"] = arguments

    def result(self, seconds: float, prompt_text: str) -> GenerationResult:
        extra: dict[str, Any] = {}
        finish = self.finish
        if self.detector.cut is not None:
            finish, extra["repetition"] = "repetition", self.detector.cut.describe()
        elif time.monotonic() > self.deadline:
            finish = "timeout"
        prompt_tokens = int(self.usage.get("prompt_tokens") or 0)
        # A cut stream (or a server that omits usage) carries no count: a streamed piece is one
        # token on llama-server.
        counted = self.detector.cut is None and self.usage
        return GenerationResult(
            text="".join(self.pieces),
            finish_reason=finish,
            prompt_tokens=prompt_tokens,
            prefill_tokens=int(self.timings.get("prompt_n", prompt_tokens) or 0),
            completion_tokens=int(self.usage.get("completion_tokens") or 0) if counted else len(self.pieces),
            seconds=seconds,
            extra=extra,
            prompt_text=prompt_text,
            tool_calls=read_tool_calls([self.calls[i] for i in sorted(self.calls)]),
        )


def _prompt_text(payload: dict[str, Any]) -> str:
    """What the model was sent, as the trajectory keeps it (the server renders the template)."""
    return json.dumps({k: payload[k] for k in ("messages", "tools") if k in payload}, indent=1)


def wire_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """The session's messages as the OpenAI API wants them: call arguments as JSON strings."""
    wired = []
    for message in messages:
        if message.get("tool_calls"):
            calls = [
                {**c, "function": {**c["function"], "arguments": json.dumps(c["function"]["arguments"])}}
                for c in message["tool_calls"]
            ]
            message = {**message, "tool_calls": calls}
        wired.append(message)
    return wired


def read_tool_calls(raw: Any) -> list[dict[str, Any]]:
    """A response's ``tool_calls`` as (id, name, arguments); entries that are not calls are skipped."""
    calls = []
    for entry in raw if isinstance(raw, list) else []:
        function = entry.get("function") if isinstance(entry, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            calls.append(
                {"id": entry.get("id") or "", "name": function["name"], "arguments": function.get("arguments", {})}
            )
    return calls
