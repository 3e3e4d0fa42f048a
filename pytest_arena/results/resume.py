"""--arena-resume: which items of an earlier run already have a result for the same fixture
version, student and settings, so a cut campaign finishes only what is missing.

Records are read leniently here (plain JSON, no validation): a record the report tools would
refuse is still a result this run holds, and running its item again would only add a duplicate."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .record import ItemRecord
from .trajectory import read_trajectory

ResumeKey = tuple[str, str, str]  # (item id, fixture sha256, settings sha256)


def settings_digest(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def record_key(data: object) -> ResumeKey | None:
    """The key of a record's JSON object; None for one without a fixture version (a crash record,
    whose item runs again)."""
    if not isinstance(data, dict) or not data.get("fixture_sha256"):
        return None
    return str(data.get("item", "")), str(data["fixture_sha256"]), str(data.get("settings_sha256", ""))


def recorded_keys(results: Path) -> set[ResumeKey]:
    """Keys of every whole record line in ``results`` (empty when it does not exist)."""
    keys: set[ResumeKey] = set()
    try:
        handle = results.open("rb")
    except OSError:
        return keys
    with handle:
        for line in handle:
            try:
                key = record_key(json.loads(line))
            except ValueError:
                continue
            if key is not None:
                keys.add(key)
    return keys


def completed(run_dir: Path) -> set[ResumeKey]:
    """Keys of the items recorded in ``run_dir`` (empty when it holds no record yet)."""
    return recorded_keys(run_dir / "results.jsonl")


def orphaned_records(run_dir: Path) -> list[ItemRecord]:
    """Records of finished items whose line never reached results.jsonl: the process that owns the
    file was killed (SIGKILL) after the worker wrote the trajectory. A trajectory is written whole
    (a rename), and holds the full record, so it is the item's result (one that does not read as a
    trajectory, or holds no valid record, is not)."""
    have = completed(run_dir)
    found = []
    for path in sorted((run_dir / "trajectories").glob("*.json")):
        try:
            record = read_trajectory(path).record
        except (OSError, ValueError):
            continue
        key = record_key(record.model_dump(by_alias=True)) if record is not None else None
        if record is not None and key is not None and key not in have:
            have.add(key)
            found.append(record)
    return found
