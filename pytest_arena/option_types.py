"""Typed values of the arena's options, checked when pytest parses them (command line) or reads
them (ini): a bad value is a usage error naming the option and the fix, never a silent fallback."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from typing import Any

from .engine.repetition import RepetitionRule, RepetitionSettingError, parse_rule
from .engine.shard import Shard, ShardError


class OptionError(ValueError):
    pass


def _one(name: str, raw: str, convert: Callable[[str], float], low: float, what: str, example: str) -> float:
    text = raw.strip()
    if "," in text:
        raise OptionError(f"--{name}={raw!r}: takes one value, not a list; expected {what}, e.g. {example}")
    try:
        value = convert(text)
    except ValueError:
        raise OptionError(f"--{name}={raw!r}: expected {what}, e.g. {example}") from None
    if not math.isfinite(value) or not value >= low:  # inf, 1e400 and nan are no setting to record
        raise OptionError(f"--{name}={raw!r}: expected {what}, e.g. {example}")
    return value


def _int(name: str, raw: str, low: int, what: str, example: str) -> int:
    return int(_one(name, raw, int, low, what, example))


def _number(name: str, raw: str, low: float, what: str, example: str) -> float:
    return _one(name, raw, float, low, what, example)


def _listed(parse_one: Callable[[str, str], Any], what: str, example: str) -> Callable[[str, str], tuple[Any, ...]]:
    """A comma list of values; any bad part is reported against the whole list."""

    def parse(name: str, raw: str) -> tuple[Any, ...]:
        try:
            return tuple(parse_one(name, part) for part in raw.split(",") if part.strip())
        except OptionError:
            raise OptionError(f"--{name}={raw!r}: expected {what}, e.g. {example}") from None

    return parse


def int_list(low: int, what: str, example: str) -> Callable[[str, str], tuple[int, ...]]:
    return _listed(lambda name, part: _int(name, part, low, what, example), what, example)


def float_list(low: float, what: str, example: str) -> Callable[[str, str], tuple[float, ...]]:
    return _listed(lambda name, part: _number(name, part, low, what, example), what, example)


def one_int(low: int, what: str, example: str) -> Callable[[str, str], int | None]:
    """One integer >= low; an empty value means "not given" (None)."""

    def parse(name: str, raw: str) -> int | None:
        return _int(name, raw, low, what, example) if raw.strip() else None

    return parse


def one_number(low: float, what: str, example: str) -> Callable[[str, str], float | None]:
    def parse(name: str, raw: str) -> float | None:
        return _number(name, raw, low, what, example) if raw.strip() else None

    return parse


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def size(name: str, raw: str) -> int | None:
    """A byte count with an optional K/M/G/T suffix (binary units); 0 disables the limit."""
    if not raw.strip():
        return None
    found = _SIZE.fullmatch(raw.strip())
    if found is None:
        raise OptionError(f"--{name}={raw!r}: expected a size such as 4G, 512M or 0 (no limit)")
    return int(float(found[1]) * _UNITS[found[2].upper()])


def repetition(name: str, raw: str) -> RepetitionRule | None:
    try:
        return parse_rule(raw)
    except RepetitionSettingError as exc:
        raise OptionError(f"--{name}={exc}") from None


def shard(name: str, raw: str) -> Shard | None:
    """I/N: the I-th of N shares of the fixtures; empty: the whole corpus."""
    if not raw.strip():
        return None
    try:
        return Shard.parse(raw)
    except ShardError as exc:
        raise OptionError(f"--{name}={raw!r}: {exc}") from None


# How each valued option is read; options not named here are free text.
PARSERS: dict[str, Callable[[str, str], Any]] = {
    "arena-temperature": float_list(0, "a comma list of numbers >= 0", "0,0.2,0.7"),
    # A negative seed would make llama.cpp draw a random one while -1 is recorded: not reproducible.
    "arena-seed": int_list(0, "a comma list of seeds >= 0", "0,1,42"),
    "arena-gpu-layers": one_int(-1, "a layer count >= 0, or -1 for all", "-1"),
    "arena-gpus": int_list(0, "a comma list of GPU indices >= 0", "0,1"),
    "arena-threads": one_int(0, "a thread count >= 0 (0: cores / xdist workers)", "2"),
    "arena-n-ctx": one_int(0, "a context size >= 0 (0: the model's own)", "8192"),
    "arena-max-turns": one_int(1, "a whole number of turns >= 1", "10"),
    "arena-max-tokens": one_int(1, "a token count >= 1", "1024"),
    "arena-turn-timeout": one_number(0, "seconds >= 0 (0: no per-turn timeout)", "600"),
    "arena-text-loop-limit": one_int(0, "a count of text turns >= 0 (0 disables)", "4"),
    "arena-workspace-quota": size,
    "arena-repetition-stop": repetition,
    "arena-epochs": one_int(1, "one sample count >= 1", "5"),
    "arena-shard": shard,
}


def argparse_type(name: str) -> Callable[[str], str]:
    """An argparse ``type=`` that checks the value and keeps it as text (read_options parses it,
    ini values included): argparse turns the error into pytest's usage error, before any work."""
    parse = PARSERS[name]

    def check(raw: str) -> str:
        try:
            parse(name, raw)
        except OptionError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--{name}=")) from None
        return raw

    check.__name__ = name  # argparse names the type in its message
    return check
