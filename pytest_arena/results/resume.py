"""--arena-resume: which items of an earlier run already have a result for the same fixture
version, student and settings, so a cut campaign finishes only what is missing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .junit import InputError, read_run_dirs

ResumeKey = tuple[str, str, str]  # (item id, fixture sha256, settings sha256)


def settings_digest(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def completed(run_dir: Path) -> set[ResumeKey]:
    """Keys of the items recorded in ``run_dir`` (empty when it holds no record yet)."""
    try:
        records = read_run_dirs([run_dir]).records
    except InputError:
        return set()
    return {(r.item, r.fixture_sha256, r.settings_sha256) for r in records if r.fixture_sha256}
