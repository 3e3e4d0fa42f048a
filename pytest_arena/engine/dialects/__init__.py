"""Tool-call dialects (DESIGN.md section 5): one module per dialect, pure functions."""

from __future__ import annotations

from . import arena, hermes, llama3, mistral, pythonic, qwen3_coder
from .base import Dialect

DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        arena.DIALECT,
        hermes.DIALECT,
        qwen3_coder.DIALECT,
        llama3.DIALECT,
        mistral.DIALECT,
        pythonic.DIALECT,
    )
}
CHOICES = ("auto", *DIALECTS, "native")


def get(name: str) -> Dialect:
    return DIALECTS[name]


__all__ = ["CHOICES", "DIALECTS", "Dialect", "get"]
