"""A student behind any OpenAI-compatible chat endpoint (llama-server, vLLM, ollama...):
``openai:URL#MODEL``."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from ..engine.corpus import FixtureSpec
from ..engine.repetition import RepetitionDetector
from ..engine.student import GenerationResult, Message, StudentConfig, StudentError

CONNECT_RETRIES = 3
REQUEST_TIMEOUT_S = 600.0


class OpenAIStudent:
    native_tools = True  # sends `tools` and reads `tool_calls` when the session's dialect is native

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
            body = response.json()
            choice = body["choices"][0]
            text = choice["message"].get("content") or ""
            calls = read_tool_calls(choice["message"].get("tool_calls"))
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
            prompt_text=_prompt_text(payload),
            tool_calls=calls,
        )

    def _generate_streamed(
        self, messages: list[Message], config: StudentConfig, detector: RepetitionDetector
    ) -> GenerationResult:
        """Server-sent events, one text piece (about one token) each: a degenerate turn is cut by
        closing the stream, which makes the server stop generating."""
        started = time.monotonic()
        deadline = started + config.turn_timeout_s if config.turn_timeout_s > 0 else float("inf")
        stream = _Stream(detector, deadline)
        payload = self._payload(messages, config)
        last: Exception | None = None
        for attempt in range(self.retries):
            try:
                self._read_stream(payload, config.turn_timeout_s, stream)
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
        return stream.result(time.monotonic() - started, _prompt_text(payload))

    def _read_stream(self, payload: dict[str, Any], timeout_s: float, stream: _Stream) -> None:
        timeout = httpx.Timeout(timeout_s, connect=10.0) if timeout_s > 0 else self.client.timeout
        with self.client.stream("POST", self.url, json=payload, timeout=timeout) as response:
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
            body = response.json()
            choice = body["choices"][0]
            return {
                "choices": [{"delta": choice["message"], "finish_reason": choice.get("finish_reason")}],
                "usage": body.get("usage") or {},
                "timings": body.get("timings") or {},
            }
        except (ValueError, KeyError, IndexError, TypeError):
            raise StudentError(f"{self.url}: not an OpenAI chat completion: {response.text[:300]}") from None

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
        self.calls: dict[int, dict[str, Any]] = {}  # native tool calls, assembled from their deltas

    def take(self, event: dict[str, Any]) -> bool:
        """Adds one event; True when the answer should be cut here."""
        self.usage = event.get("usage") or self.usage
        self.timings = event.get("timings") or self.timings
        for choice in event.get("choices") or []:
            delta = choice.get("delta") or {}
            piece = delta.get("content") or ""
            if piece:
                self.pieces.append(piece)
                self.detector.feed_text(piece)
            for position, part in enumerate(delta.get("tool_calls") or []):
                if isinstance(part, dict):
                    self._take_call(part, position)
            self.finish = choice.get("finish_reason") or self.finish
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
