"""What the campaign benchmarks share: one pytest process's wall time and the records it wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    wall: float
    records: list[dict[str, object]]

    def total(self, key: str) -> float:
        return sum(float(str(record.get(key, 0))) for record in self.records)

    @property
    def per_minute(self) -> float:
        return len(self.records) / self.wall * 60


def read_run(wall: float, reports: Path) -> Run | None:
    """The run in ``reports/latest``, its records sorted by item; None when it wrote none."""
    results = reports / "latest" / "results.jsonl"
    if not results.is_file():
        return None
    lines = results.read_text().splitlines()
    return Run(wall, sorted((json.loads(line) for line in lines if line), key=lambda r: str(r["item"])))
