"""A student behind any OpenAI-compatible chat endpoint (llama-server, vLLM, ollama...):
``openai:URL#MODEL``."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from ..corpus import FixtureSpec
from .base import GenerationResult, Message, StudentConfig, StudentError

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
            "stream": False,
        }
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
            prompt_text=json.dumps({k: payload[k] for k in ("messages", "tools") if k in payload}, indent=1),
            tool_calls=calls,
        )

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"backend": "openai_http", "url": self.url, "model": self.model}
        if self._grammar_status:
            info["grammar"] = self._grammar_status
        return info

    def close(self) -> None:
        self.client.close()


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
