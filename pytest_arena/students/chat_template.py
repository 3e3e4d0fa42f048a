"""A GGUF's own chat template, rendered as llama.cpp ``--jinja`` and Hugging Face do: Jinja2 in a
sandbox, ``tools`` as OpenAI function schemas, assistant ``tool_calls`` with arguments as objects,
results in the ``tool`` role. Templates are untrusted input: the sandbox forbids attribute access
outside plain data, and nothing here can reach files or the network."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateRenderError(Exception):
    """The template rejected the conversation (raise_exception, a syntax error, a missing field)."""


def _raise(message: str) -> None:
    raise TemplateRenderError(message)


def _tojson(value: Any, indent: int | None = None, separators: Any = None, sort_keys: bool = False) -> str:
    # Hugging Face's tojson: no HTML escaping (Jinja's own would turn "<" into "\u003c").
    return json.dumps(value, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(fmt: str) -> str:
    return dt.datetime.now(dt.UTC).strftime(fmt)


class ChatTemplate:
    def __init__(self, source: str, *, bos_token: str = "", eos_token: str = "") -> None:
        env = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
        )
        env.filters["tojson"] = _tojson
        env.globals["raise_exception"] = _raise
        env.globals["strftime_now"] = _strftime_now
        self.source = source
        self.bos_token, self.eos_token = bos_token, eos_token
        try:
            self._template = env.from_string(source)
        except TemplateError as exc:
            raise TemplateRenderError(f"template does not compile: {exc}") from None

    def render(
        self,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]] = (),
        *,
        add_generation_prompt: bool = True,
    ) -> str:
        context: dict[str, Any] = {
            "messages": [dict(m) for m in messages],
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
            "add_generation_prompt": add_generation_prompt,
        }
        if tools:  # absent, not empty: templates test `tools is defined` / `tools is not none`
            context["tools"] = list(tools)
        try:
            return self._template.render(**context)
        except TemplateRenderError:
            raise
        except (TemplateError, TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from None
