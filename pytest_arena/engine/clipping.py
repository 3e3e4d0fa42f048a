"""Long texts kept as head and tail with a marker in between: the end of a tool's output (a test
run's verdict) matters as much as its start, and a reader must see that something was cut."""

from __future__ import annotations


def clip_middle(text: str, limit: int) -> str:
    """``text`` itself when it fits in ``limit`` characters, else its head and tail around a marker
    that says how much was left out (the result may exceed ``limit`` by the marker's length)."""
    if len(text) <= limit:
        return text
    half = limit // 2
    omitted = len(text) - 2 * half
    return f"{text[:half]}\n[... {omitted} characters omitted ...]\n{text[len(text) - half :]}"
