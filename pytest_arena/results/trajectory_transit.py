"""A trajectory on its way from the process that ran the item to the one that owns the run folder.

Under xdist the worker may be on another host, or see another filesystem: it writes no result file
of its own. The trajectory rides on the item's report (an attribute, which xdist serializes as JSON
with the report, and which --junitxml never sees) as compressed JSON, and the controller writes it
into the run folder beside the record."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from pathlib import Path

from .trajectory import Trajectory, write_trajectory

ATTRIBUTE = "arena_trajectory"
MAX_UNPACKED = 256 * 1024 * 1024  # far above any trajectory (turns are clipped); a bound, not a size


def pack(trajectory: Trajectory) -> str:
    text = json.dumps(trajectory.model_dump(by_alias=True), default=str)
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")


def unpack(blob: str) -> Trajectory:
    """Raises ValueError for anything that is not a packed trajectory."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(blob, validate=True), MAX_UNPACKED)
    except (binascii.Error, zlib.error) as exc:
        raise ValueError(f"not a packed trajectory ({exc})") from None
    if inflater.unconsumed_tail:
        raise ValueError(f"a packed trajectory over {MAX_UNPACKED} bytes")
    return Trajectory.model_validate_json(raw)


def attach(report: object, blob: str) -> None:
    setattr(report, ATTRIBUTE, blob)


def write_carried(report: object, run_dir: Path, item_name: str) -> bool:
    """Writes the trajectory a report carries; False when it carries none. Raises ValueError for a
    blob that is not one, ReportsUnwritable when the run folder cannot take it."""
    blob = getattr(report, ATTRIBUTE, None)
    if not isinstance(blob, str):
        return False
    delattr(report, ATTRIBUTE)  # written once; the report is kept by others (junitxml, the terminal)
    write_trajectory(run_dir, item_name, unpack(blob))
    return True
