"""The arena's disk caches (baselines, warm builds) are only a speed-up: one that cannot be written
(a read-only or full XDG_CACHE_HOME or HOME) is computed without saving, and said so once."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path


class CacheWarning(UserWarning):
    """A cache the arena could not write; results are unaffected, only slower."""


def cache_folder(kind: str) -> Path:
    """``$XDG_CACHE_HOME/pytest-arena/<kind>`` (``~/.cache`` when the variable is unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytest-arena" / kind


_SAID: set[str] = set()
_LOCK = threading.Lock()


def unwritable(kind: str, path: Path, exc: OSError) -> None:
    """Warns, once per process and cache kind, that ``path`` could not be written."""
    with _LOCK:
        if kind in _SAID:
            return
        _SAID.add(kind)
    why = exc.strerror or type(exc).__name__
    text = (
        f"the {kind} cache cannot be written at {path} ({why}): computing without saving; "
        "point XDG_CACHE_HOME at a writable folder to keep it between runs"
    )
    # Explicit, with no source file: the warning is this one line, not a line of the arena's code.
    warnings.warn_explicit(CacheWarning(text), CacheWarning, "pytest-arena", 0)
