"""The item id, ``<fixture>[<student>-t<temperature>-s<seed>]`` (a dialect sweep adds
``-<dialect>``): written by the collector, read back by records of crashed items and by the xdist
scheduler, which sees only node ids. Both directions live here so they cannot drift apart."""

from __future__ import annotations

import re
from dataclasses import dataclass

_VARIANT = re.compile(r"(?P<label>.*)-t(?P<t>[0-9.e+-]+)-s(?P<s>-?\d+)(?:-(?P<dialect>[a-z0-9-]+))?")


@dataclass(frozen=True)
class ItemId:
    fixture: str
    student: str  # the student's label, unique within the campaign
    temperature: float = 0.0
    seed: int = 0
    dialect: str = ""  # only a dialect sweep names the dialect

    @property
    def variant(self) -> str:
        suffix = f"-{self.dialect}" if self.dialect else ""
        return f"{self.student}-t{self.temperature:g}-s{self.seed}{suffix}"

    def __str__(self) -> str:
        return f"{self.fixture}[{self.variant}]"

    @classmethod
    def parse(cls, item: str) -> ItemId:
        """An item id, or a node id ending in one; a variant not in this form keeps its text as the
        student (temperature 0, seed 0), so a foreign id still names something."""
        fixture, _, variant = item.rpartition("::")[2].partition("[")
        variant = variant.removesuffix("]")
        found = _VARIANT.fullmatch(variant)
        if found is None:
            return cls(fixture, variant or "?")
        return cls(fixture, found["label"], float(found["t"]), int(found["s"]), found["dialect"] or "")
