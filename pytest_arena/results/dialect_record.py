"""The dialect fields of an item's record, from its session."""

from __future__ import annotations

from typing import Any

from ..engine.session import SessionResult


def dialect_fields(result: SessionResult, requested: str) -> dict[str, Any]:
    """``requested`` names the dialect of an item whose session never started (setup failed)."""
    return {
        **(result.dialect or {"dialect": requested, "dialect_reason": "session did not start"}),
        "native_calls": result.native_calls,
        "content_fallback_calls": result.content_fallback_calls,
    }
