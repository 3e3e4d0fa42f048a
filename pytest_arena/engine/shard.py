"""CI shards: ``--arena-shard I/N`` runs the I-th of N shares of the fixtures.

A fixture's share is a stable hash of its id, so every variant of a fixture (students,
temperatures, seeds, dialects) lands in one shard, on every machine and Python version (crc32,
not ``hash()``, which is salted per process)."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

_FORM = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def fixture_bucket(fixture: str, buckets: int) -> int:
    """Which of ``buckets`` shares (0-based) a fixture id falls in."""
    return zlib.crc32(fixture.encode()) % max(buckets, 1)


class ShardError(ValueError):
    """A shard text that is not I/N with 1 <= I <= N."""


@dataclass(frozen=True, order=True)
class Shard:
    index: int  # 1-based, as written
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        found = _FORM.fullmatch(text)
        if found is None:
            raise ShardError("expected I/N, two whole numbers with 1 <= I <= N, e.g. 1/4")
        index, count = int(found[1]), int(found[2])
        if count < 1:
            raise ShardError(f"N = {count}: expected at least one shard, e.g. 1/1")
        if not 1 <= index <= count:
            raise ShardError(f"I = {index}: {count} shards are numbered 1/{count} to {count}/{count}")
        return cls(index, count)

    @property
    def text(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, fixture: str) -> bool:
        return fixture_bucket(fixture, self.count) == self.index - 1
