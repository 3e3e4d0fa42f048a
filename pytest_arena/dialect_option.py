"""``--arena-dialect``: a comma list checked against the students before anything runs."""

from __future__ import annotations

from .engine.dialects import CHOICES
from .option_types import OptionError
from .students.schemes import text_only


def dialect_option(raw: str, students: tuple[str, ...]) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip())) or ("auto",)
    for name in names:
        if name not in CHOICES:
            raise OptionError(
                f"--arena-dialect={raw!r}: unknown dialect {name!r}; expected one of {', '.join(CHOICES)}"
            )
    if "native" in names:
        local = [s for s in students if text_only(s)]
        if local:
            raise OptionError(
                f"--arena-dialect native: student '{local[0]}' has no server-side function calling; "
                "native is for openai:URL#MODEL students. Fix: use auto (the GGUF's own template) or a named dialect"
            )
    return names
