"""Long texts kept as head and tail with a marker in between: the end of a tool's output (a test
run's verdict) matters as much as its start, and a reader must see that something was cut. Deep
data kept to a few levels the same way."""

from __future__ import annotations

from typing import Any


def clip_middle(text: str, limit: int) -> str:
    """``text`` itself when it fits in ``limit`` characters, else its head and tail around a marker
    that says how much was left out (the result may exceed ``limit`` by the marker's length)."""
    if len(text) <= limit:
        return text
    half = limit // 2
    omitted = len(text) - 2 * half
    return f"{text[:half]}\n[... {omitted} characters omitted ...]\n{text[len(text) - half :]}"


def bounded(value: Any, levels: int) -> Any:
    """``value`` as JSON-ready data, anything nested below ``levels`` replaced by a note: stored
    data never overflows a recursive serialiser (the recursion here stops at ``levels``)."""
    if isinstance(value, dict | list | tuple) and levels <= 0:
        return "(nested deeper than the levels kept)"
    if isinstance(value, dict):
        return {str(k): bounded(v, levels - 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [bounded(v, levels - 1) for v in value]
    return value
