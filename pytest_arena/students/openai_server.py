"""What an OpenAI-compatible server says about itself, and what its error answers mean.

``/props`` (llama-server) says whether its chat template renders tools
(``chat_template_caps.supports_tools``), which model file it serves and its build; ``/v1/models``
names the served models. Servers without either (vLLM has no ``/props``) are simply not asked
again. An error answer is the model's malformed call (llama-server could not parse what it wrote:
the model's failure, a text turn), a full context (``ContextExhausted``) or the backend's fault."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from ..engine.student import ContextExhausted, StudentError
from .http_limits import MAX_PROBE_BYTES, AnswerTooLarge, capped_body

PROBE_TIMEOUT_S = 10.0
# llama.cpp common/chat.cpp, when the model's output is not in its template's call format
MALFORMED_CALL = re.compile(r"does not match the expected [\w.-]+ format")
# llama-cpp-python's (and OpenAI's) context_length_exceeded message
CONTEXT_NUMBERS = re.compile(r"maximum context length is (\d+) tokens.*?\((\d+) in the (?:messages|prompt)", re.S)

JsonObject = Mapping[str, object]


@dataclass(frozen=True)
class ServerFacts:
    supports_tools: bool | None = None  # None: the server does not say
    models: str = ""  # the ids /v1/models lists, or /props' alias
    model_path: str = ""
    build: str = ""
    reached: bool = True  # False: no answer at all (asked again on next use)

    def tools_blocked(self) -> str:
        """Why native tools would reach no model ('' when they would, or the server does not say)."""
        if self.supports_tools is False:
            return "the server reports supports_tools: false (its chat template renders no tools)"
        return ""

    def describe(self) -> dict[str, str]:
        tools = {None: "", True: "supported", False: "not rendered by the server's template"}[self.supports_tools]
        found = {"server_model": self.models, "server_model_path": self.model_path, "server_build": self.build}
        return {key: value for key, value in (found | {"server_tools": tools}).items() if value}


def probe(client: httpx.Client, root: str) -> ServerFacts:
    """``root``: the server's address without ``/v1``. Never raises: a server that cannot say is unknown."""
    props, models = _get(client, root + "/props"), _get(client, root + "/v1/models")
    if props is None and models is None:
        return ServerFacts(reached=False)
    props, models = props or {}, models or {}
    caps = props.get("chat_template_caps")
    supports = caps.get("supports_tools") if isinstance(caps, Mapping) else props.get("supports_tools")
    data = models.get("data")
    ids = [str(m["id"]) for m in data if isinstance(m, Mapping) and m.get("id")] if isinstance(data, list) else []
    return ServerFacts(
        supports if isinstance(supports, bool) else None,
        ", ".join(ids) or str(props.get("model_alias") or ""),
        str(props.get("model_path") or ""),
        str(props.get("build_info") or ""),
    )


def _get(client: httpx.Client, url: str) -> JsonObject | None:
    """The JSON object at ``url``: {} when the server has none there, None when it did not answer."""
    try:
        with client.stream("GET", url, timeout=PROBE_TIMEOUT_S) as response:
            if response.status_code != 200:
                return {}
            body: object = json.loads(capped_body(response, url, MAX_PROBE_BYTES))
    except httpx.HTTPError:
        return None
    except (ValueError, AnswerTooLarge):  # not JSON, or more than a description of a server needs
        return {}
    return body if isinstance(body, Mapping) else {}


@dataclass(frozen=True)
class MalformedCall:
    """The server could not parse the model's tool call: the model's failure, recorded as a text turn
    (the model is told, as with any malformed call), the same streamed or not."""

    message: str

    def note(self, partial: str = "") -> str:
        so_far = f"; the call so far: {partial}" if partial else ""
        return f"the server could not parse the model's tool call ({self.message}){so_far}"


def error_object(text: str) -> JsonObject:
    """The ``error`` object of an error answer's body ({} when it has none)."""
    try:
        body: object = json.loads(text)
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, Mapping) else None
    return error if isinstance(error, Mapping) else {}


def failure(url: str, where: str, error: JsonObject, raw: str) -> MalformedCall | StudentError:
    """An error answer as what it means; ``where``: "HTTP 500", or "error event mid-stream"."""
    message = str(error.get("message") or "")
    if MALFORMED_CALL.search(message):
        return MalformedCall(message)
    if error.get("code") == "context_length_exceeded" or error.get("type") == "exceed_context_size_error":
        found = CONTEXT_NUMBERS.search(message)
        n_ctx, prompt = (int(found[1]), int(found[2])) if found else (0, 0)
        return ContextExhausted(_int(error.get("n_prompt_tokens")) or prompt, _int(error.get("n_ctx")) or n_ctx)
    return StudentError(f"{url}: {where}: {' '.join(raw.split())[:300]}")


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
