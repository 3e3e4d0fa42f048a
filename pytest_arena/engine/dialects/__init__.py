"""Tool-call dialects (DESIGN.md section 5): one module per dialect, each a stateless class."""

from __future__ import annotations

from .arena import Arena
from .base import Dialect
from .hermes import Hermes
from .llama3 import Llama3
from .mistral import Mistral
from .pythonic import Pythonic
from .qwen3_coder import Qwen3Coder

DIALECTS: dict[str, Dialect] = {d.name: d for d in (Arena(), Hermes(), Qwen3Coder(), Llama3(), Mistral(), Pythonic())}
CHOICES = ("auto", *DIALECTS, "native")


def get(name: str) -> Dialect:
    return DIALECTS[name]


__all__ = ["CHOICES", "DIALECTS", "Dialect", "get"]
