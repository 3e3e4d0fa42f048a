"""The blocks a report is made of. Kept apart from report.py so that modules adding sections share
these very classes even when report.py runs as ``python -m pytest_arena.results.report`` (then it is
``__main__``, and classes defined in it would exist twice)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""
    links: list[str] = field(default_factory=list)  # per row: where its first cell links to


@dataclass
class Chart:
    title: str
    png: bytes
    caption: str


@dataclass
class Report:
    title: str
    overview: list[str] = field(default_factory=list)
    sections: list[tuple[str, list[Table | Chart]]] = field(default_factory=list)


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()
