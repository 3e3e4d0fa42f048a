"""A student behind any OpenAI-compatible chat endpoint (llama-server, vLLM, ollama...):
``openai:URL#MODEL``."""

from __future__ import annotations

import json
import time

import httpx

from ..engine.corpus import FixtureSpec
from ..engine.scheme_traits import TRAITS
from ..engine.student import GenerationResult, Message, StudentBase, StudentConfig, StudentError
from .http_limits import capped_body, read_response
from .openai_server import MalformedCall, ServerFacts, error_object, failure, probe
from .openai_stream import MALFORMED, StreamReader, sse_events, whole_as_event

CONNECT_RETRIES = 3
REQUEST_TIMEOUT_S = 600.0
# HTTP 429: waits of BASE * 2**attempt seconds, or the server's Retry-After, each at most CAP.
RATE_LIMIT_RETRIES = 5
RATE_LIMIT_BASE_S = 1.0
RATE_LIMIT_CAP_S = 30.0
MID_STREAM = "error event mid-stream"


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
        self.root = base.removesuffix("/v1")  # where llama-server's /props is
        self.model, self.name, self.retries = model, name, retries
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=10.0), headers=headers)
        self._seed = 0
        self._grammar = ""
        self._grammar_status = ""
        self._facts: ServerFacts | None = None

    @classmethod
    def from_spec(cls, rest: str, *, name: str) -> OpenAIStudent:
        url, _, model = rest.partition("#")
        if not url.startswith(("http://", "https://")) or not model:
            raise StudentError(
                f"openai:{rest}: expected openai:URL#MODEL, e.g. openai:http://127.0.0.1:8080#qwen3-coder"
            )
        return cls(url, model, name=name)

    def server(self) -> ServerFacts:
        """What the server says about itself, asked once (on first use; again while it is down)."""
        if self._facts is None or not self._facts.reached:
            self._facts = probe(self.client, self.root)
        return self._facts

    def native_tools_blocked(self) -> str:
        return self.server().tools_blocked()

    def start(self, fixture: FixtureSpec, config: StudentConfig) -> None:
        self._seed = config.seed
        self._grammar, self._grammar_status = "", ""
        if config.constrained:
            try:
                from .grammar import gbnf_for

                self._grammar, self._grammar_status = gbnf_for(config.tool_schema), "sent (grammar field)"
            except Exception as exc:  # converter failures: record and run unconstrained
                self._grammar_status = f"failed: {type(exc).__name__}: {exc}"

    def _payload(self, messages: list[Message], config: StudentConfig) -> dict[str, object]:
        stream = config.repetition_stop is not None
        payload: dict[str, object] = {
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
            "stream": stream,
        }
        if stream:  # the usage ends the stream; llama-server puts its timings on every chunk, for a cut one
            payload |= {"stream_options": {"include_usage": True}, "timings_per_token": True}
        if self._grammar:
            payload["grammar"] = self._grammar
        if config.tools:
            payload["tools"] = list(config.tools)
            payload["tool_choice"] = config.tool_choice
        return payload

    def _post(self, payload: dict[str, object], timeout_s: float) -> httpx.Response:
        for attempt in range(RATE_LIMIT_RETRIES):
            response = self._post_once(payload, timeout_s)
            if response.status_code != 429:
                return response
            time.sleep(_backoff(attempt, response.headers.get("retry-after")))
        raise StudentError(self._rate_limited())

    def _post_once(self, payload: dict[str, object], timeout_s: float) -> httpx.Response:
        last: Exception | None = None
        timeout = httpx.Timeout(timeout_s, connect=10.0) if timeout_s > 0 else self.client.timeout
        for attempt in range(self.retries):
            try:
                # Read through a stream with a byte cap: client.post would take any size in memory.
                with self.client.stream("POST", self.url, json=payload, timeout=timeout) as response:
                    return read_response(response, self.url)
            except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
                last = exc
                time.sleep(0.5 * 2**attempt)
            except httpx.TimeoutException:
                raise StudentError(f"{self.url}: no answer within {timeout.read:.0f}s (per-turn timeout)") from None
            except httpx.TransportError as exc:
                raise StudentError(self._reset(exc, payload)) from None
        raise StudentError(f"{self.url}: cannot connect after {self.retries} attempts ({last})")

    def generate(self, messages: list[Message], config: StudentConfig) -> GenerationResult:
        """Streamed while the degeneration stop is on: a degenerate turn is cut by closing the
        stream, which makes the server stop generating."""
        started = time.monotonic()
        rule, budget = config.repetition_stop, config.turn_timeout_s
        payload = self._payload(messages, config)
        if rule is None:
            reader = StreamReader(None)
            self._read_whole(self._post(payload, budget), reader)
        else:
            reader = StreamReader(rule.detector(), started + budget if budget > 0 else float("inf"))
            self._stream_rate_limited(payload, budget, reader)
        malformed = None
        if reader.failed is not None:
            found = failure(self.url, *reader.failed)
            if not isinstance(found, MalformedCall):
                raise found
            malformed = found
        try:
            return reader.result(time.monotonic() - started, _prompt_text(payload), malformed)
        except MALFORMED as exc:
            raise StudentError(f"{self.url}: not an OpenAI chat completion ({exc})") from None

    def _read_whole(self, response: httpx.Response, reader: StreamReader) -> None:
        """A completion answered at once, as one stream event."""
        body = capped_body(response, self.url)
        text = body.decode("utf-8", errors="replace")
        if response.status_code != 200:
            reader.fail(f"HTTP {response.status_code}", error_object(text), text)
            return
        try:
            reader.take(whole_as_event(json.loads(body)))
        except MALFORMED as exc:
            raise StudentError(f"{self.url}: not an OpenAI chat completion ({exc}): {text[:300]}") from None

    def _stream_rate_limited(self, payload: dict[str, object], timeout_s: float, reader: StreamReader) -> None:
        for attempt in range(RATE_LIMIT_RETRIES):
            try:
                self._stream_with_retries(payload, timeout_s, reader)
                return
            except _RateLimited as exc:
                time.sleep(_backoff(attempt, exc.retry_after))
        raise StudentError(self._rate_limited())

    def _rate_limited(self) -> str:
        return f"{self.url}: HTTP 429 (rate limited) on {RATE_LIMIT_RETRIES} attempts, backing off each time"

    def _reset(self, exc: httpx.TransportError, payload: dict[str, object]) -> str:
        """One line for a connection the server broke off mid-request (not worth a retry: it answers so)."""
        line = f"{self.url}: the server broke off the connection mid-request ({type(exc).__name__}: {exc or 'reset'})"
        if payload.get("stream") and payload.get("tools"):
            line += (
                "; llama-cpp-python's server does so for a streamed request with tools (automatic streaming"
                " tool choice is not supported): --arena-repetition-stop off sends requests unstreamed"
            )
        return line

    def _stream_with_retries(self, payload: dict[str, object], timeout_s: float, reader: StreamReader) -> None:
        last: Exception | None = None
        for attempt in range(self.retries):
            try:
                self._read_stream(payload, timeout_s, reader)
                return
            except MALFORMED as exc:
                raise StudentError(f"{self.url}: not an OpenAI chat completion stream ({exc})") from None
            except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
                if reader.generated:  # the server went away mid-answer: retrying would replay the turn
                    raise StudentError(f"{self.url}: connection lost mid-answer ({exc})") from None
                last = exc
                time.sleep(0.5 * 2**attempt)
            except httpx.TimeoutException:
                raise StudentError(f"{self.url}: no answer within {timeout_s:.0f}s (per-turn timeout)") from None
            except httpx.TransportError as exc:
                raise StudentError(self._reset(exc, payload)) from None
        raise StudentError(f"{self.url}: cannot connect after {self.retries} attempts ({last})")

    def _read_stream(self, payload: dict[str, object], timeout_s: float, reader: StreamReader) -> None:
        timeout = httpx.Timeout(timeout_s, connect=10.0) if timeout_s > 0 else self.client.timeout
        with self.client.stream("POST", self.url, json=payload, timeout=timeout) as response:
            if response.status_code == 429:
                raise _RateLimited(response.headers.get("retry-after"))
            if response.status_code != 200 or response.headers.get("content-type", "").startswith("application/json"):
                self._read_whole(response, reader)  # an error, or a server that does not stream
                return
            for event in sse_events(response, self.url):
                if reader.take(event):
                    return  # leaving the block closes the connection

    def describe(self) -> dict[str, object]:
        info: dict[str, object] = {"backend": "openai_http", "url": self.url, "model": self.model}
        if self._grammar_status:
            info["grammar"] = self._grammar_status
        return info | self.server().describe()

    def close(self) -> None:
        self.client.close()


def _prompt_text(payload: dict[str, object]) -> str:
    """What the model was sent, as the trajectory keeps it (the server renders the template)."""
    return json.dumps({k: payload[k] for k in ("messages", "tools") if k in payload}, indent=1)


def wire_messages(messages: list[Message]) -> list[Message]:
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
