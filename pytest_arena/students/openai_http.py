"""A student behind any OpenAI-compatible chat endpoint (llama-server, vLLM, ollama...):
``openai:URL#MODEL``."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from ..corpus import FixtureSpec
from ..repetition import RepetitionDetector
from .base import GenerationResult, Message, StudentConfig, StudentError

CONNECT_RETRIES = 3
REQUEST_TIMEOUT_S = 600.0


class OpenAIStudent:
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
            "messages": messages,
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
        return payload

    def _post(self, payload: dict[str, Any], timeout_s: float) -> httpx.Response:
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
        response = self._post(self._payload(messages, config), config.turn_timeout_s)
        if response.status_code != 200:
            raise StudentError(f"{self.url}: HTTP {response.status_code}: {response.text[:300]}")
        try:
            body = response.json()
            choice = body["choices"][0]
            text = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise StudentError(f"{self.url}: not an OpenAI chat completion: {response.text[:300]}") from None
        usage = body.get("usage") or {}
        timings = body.get("timings") or {}  # llama-server reports what the KV cache saved
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        return GenerationResult(
            text=text,
            finish_reason=choice.get("finish_reason") or "stop",
            prompt_tokens=prompt_tokens,
            prefill_tokens=int(timings.get("prompt_n", prompt_tokens) or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            seconds=time.monotonic() - started,
        )

    def _generate_streamed(
        self, messages: list[Message], config: StudentConfig, detector: RepetitionDetector
    ) -> GenerationResult:
        """Server-sent events, one text piece (about one token) each: a degenerate turn is cut by
        closing the stream, which makes the server stop generating."""
        started = time.monotonic()
        deadline = started + config.turn_timeout_s if config.turn_timeout_s > 0 else float("inf")
        stream = _Stream(detector, deadline)
        last: Exception | None = None
        for attempt in range(self.retries):
            try:
                self._read_stream(self._payload(messages, config), config.turn_timeout_s, stream)
                break
            except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
                if stream.pieces:  # the server went away mid-answer: retrying would replay the turn
                    raise StudentError(f"{self.url}: connection lost mid-answer ({exc})") from None
                last = exc
                time.sleep(0.5 * 2**attempt)
            except httpx.TimeoutException:
                raise StudentError(
                    f"{self.url}: no answer within {config.turn_timeout_s:.0f}s (per-turn timeout)"
                ) from None
        else:
            raise StudentError(f"{self.url}: cannot connect after {self.retries} attempts ({last})")
        return stream.result(time.monotonic() - started)

    def _read_stream(self, payload: dict[str, Any], timeout_s: float, stream: _Stream) -> None:
        timeout = httpx.Timeout(timeout_s, connect=10.0) if timeout_s > 0 else self.client.timeout
        with self.client.stream("POST", self.url, json=payload, timeout=timeout) as response:
            if response.status_code != 200:
                response.read()
                raise StudentError(f"{self.url}: HTTP {response.status_code}: {response.text[:300]}")
            for event in self._events(response):
                if stream.take(event):
                    return  # leaving the block closes the connection

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
        self.finish = "stop"
        self.usage: dict[str, Any] = {}
        self.timings: dict[str, Any] = {}

    def take(self, event: dict[str, Any]) -> bool:
        """Adds one event; True when the answer should be cut here."""
        self.usage = event.get("usage") or self.usage
        self.timings = event.get("timings") or self.timings
        for choice in event.get("choices") or []:
            piece = (choice.get("delta") or {}).get("content") or ""
            if piece:
                self.pieces.append(piece)
                self.detector.feed_text(piece)
            self.finish = choice.get("finish_reason") or self.finish
        return self.detector.cut is not None or time.monotonic() > self.deadline

    def result(self, seconds: float) -> GenerationResult:
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
        )
