"""One JSON file per item under ``reports/<run-id>/trajectories/``: the record, the verdict and every
turn, written whole by whichever process ran the item (never a torn or half-named file)."""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engine.clipping import bounded, clip_middle
from .run_folder import ReportsUnwritable

if TYPE_CHECKING:
    from .record import ItemRecord

TRAJECTORY_TEXT_CHARS = 64 * 1024  # per turn text; a runaway 5 MB turn must not make a 10 MB file
STORED_LEVELS = 64  # nesting kept in a stored turn (arguments are refused past 32 levels already)


def safe_name(item_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", item_name)[:180]


def trajectory_path(run_dir: Path, item_name: str) -> Path:
    return run_dir / "trajectories" / f"{safe_name(item_name)}.json"


def write_trajectory(run_dir: Path, item_name: str, payload: dict[str, Any]) -> Path:
    """Written to a temporary name, then renamed; a failed write (a full disk) leaves nothing
    behind and raises ReportsUnwritable."""
    path = trajectory_path(run_dir, item_name)
    temporary = path.with_suffix(".json.tmp")
    text = json.dumps(payload, indent=1, default=str)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise ReportsUnwritable(temporary, exc) from None
    return path


def _stored_turn(turn: Any) -> dict[str, Any]:
    """A turn as the trajectory keeps it: the cleaned text only where it differs from the raw text
    (readers fall back to ``raw_text``), both capped with a marker. Fields are copied one level
    deep (not ``asdict``, whose recursion a deeply nested value would overflow)."""
    data: dict[str, Any] = bounded({f.name: getattr(turn, f.name) for f in fields(turn)}, STORED_LEVELS)
    raw, text = data.get("raw_text", ""), data.get("text", "")
    data["raw_text"] = clip_middle(raw, TRAJECTORY_TEXT_CHARS)
    if text == raw:
        del data["text"]
    else:
        data["text"] = clip_middle(text, TRAJECTORY_TEXT_CHARS)
    return data


def trajectory_payload(record: ItemRecord, turns: list[Any], verdict_text: str) -> dict[str, Any]:
    return {
        "record": record.model_dump(by_alias=True),
        "oracle": verdict_text,
        "turns": [_stored_turn(t) for t in turns],
    }


def save_trajectory(run_dir: Path, item_name: str, record: ItemRecord, result: Any) -> str | None:
    """Writes the item's trajectory and points ``record`` at it; returns why it could not be
    written (the record then names no trajectory), or None."""
    verdict = result.verdict
    record.trajectory = trajectory_path(run_dir, item_name).relative_to(run_dir).as_posix()
    payload = trajectory_payload(record, result.turns, verdict.explain() if verdict else "")
    payload["verdict"] = verdict.detail() if verdict else {}
    payload["rendered_prompt"] = result.rendered_prompt
    payload["dropped_changes"] = result.dropped
    payload["suppressions"] = result.suppressions
    if result.own_verdict is not None:
        payload["own_tree_verdict"] = result.own_verdict.detail()
    try:
        write_trajectory(run_dir, item_name, payload)
    except ReportsUnwritable as exc:
        record.trajectory = ""
        return str(exc)
    return None
