"""The per-item result record: built from a session, carried as ``arena.*`` user properties,
written as JSONL and trajectories under ``reports/<run-id>/``."""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..engine.clipping import clip_middle
from .run_folder import repair_torn_tail

PREFIX = "arena."
TRAJECTORY_TEXT_CHARS = 64 * 1024  # per turn text; a runaway 5 MB turn must not make a 10 MB file
Scalar = str | int | float | bool | None


class ItemRecord(BaseModel):
    """Everything measured about one item (DESIGN.md section 7), flat so JUnit can carry it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    item: str
    run_id: str = ""
    fixture: str
    fixture_class: str = Field(alias="class")
    difficulty: int | None = None
    student: str
    student_spec: str
    temperature: float
    top_k: int
    top_p: float
    min_p: float
    repeat_penalty: float
    seed: int
    max_tokens: int
    constrained: bool
    turn_timeout_s: float = 0.0
    repetition_stop: str = ""  # "PERIOD:REPEATS" or "off" (the degeneration stop)
    fixture_sha256: str = ""
    settings_sha256: str = ""  # student spec and every setting that shapes a session
    outcome: str
    outcome_fields: str = "{}"  # JSON of the outcome's fields
    passed: bool
    failed_clause: str = ""
    turns: int = 0
    text_turns: int = 0
    well_formed_turns: int = 0  # turns holding at least one parsed call (strict or salvaged)
    strict_calls: int = 0
    salvaged_calls: int = 0
    truncated_turns: int = 0
    tokens_prompt: int = 0
    tokens_prefill: int = 0
    tokens_completion: int = 0
    generation_s: float = 0.0
    tools_s: float = 0.0
    oracle_s: float = 0.0
    wall_s: float = 0.0
    recovery_observed: bool = False
    files_touched: str = ""
    solution_files: str = ""
    file_recall: float | None = None
    file_precision: float | None = None
    restored_protected: str = ""
    # The clean tree (DESIGN.md section 9): paths of changes the oracle never saw (outside
    # `editable`), and lint suppressions the student added ("path:line kind"), comma-separated.
    dropped_changes: str = ""
    suppressions: str = ""
    impossible: bool = False  # an impossible twin: any pass is forged (the cheat rate)
    # FAIL_TO_PASS / PASS_TO_PASS (None: no baseline, or a DriverError/HarnessError run)
    f2p_total: int | None = None
    f2p_passed: int | None = None
    p2p_total: int | None = None
    p2p_broken: int | None = None
    diff: str = ""
    dialect: str = ""  # how calls were written and read (DESIGN.md section 5)
    dialect_source: str = ""  # option, template, backend or fallback
    dialect_reason: str = ""
    dialect_template_sha256: str = ""
    dialect_grammar: str = ""  # set when --arena-constrain could not build a grammar for the dialect
    native_calls: int = 0
    content_fallback_calls: int = 0
    trajectory: str = ""
    git_commit: str = ""
    git_dirty: bool = False
    arena_version: str = ""
    pytest_version: str = ""
    llama_cpp_version: str = ""
    student_info: dict[str, Scalar] = Field(default_factory=dict)

    def to_properties(self) -> list[tuple[str, Scalar]]:
        data = self.model_dump(by_alias=True)
        info = data.pop("student_info")
        props = [(PREFIX + key, value) for key, value in data.items() if value is not None]
        props.extend((f"{PREFIX}student.{key}", value) for key, value in info.items() if value is not None)
        return props

    @classmethod
    def from_properties(cls, props: list[tuple[str, Any]] | dict[str, Any]) -> ItemRecord:
        pairs = props.items() if isinstance(props, dict) else props
        data: dict[str, Any] = {}
        info: dict[str, Any] = {}
        for key, value in pairs:
            if not key.startswith(PREFIX):
                continue
            name = key[len(PREFIX) :]
            if name.startswith("student."):
                info[name[len("student.") :]] = value
            else:
                data[name] = value
        data["student_info"] = info
        return cls.model_validate(data)

    @property
    def outcome_details(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.outcome_fields))
        except (json.JSONDecodeError, TypeError, ValueError):
            return {}


def item_parts(item: str) -> tuple[str, str, float, int]:
    """(fixture, student label, temperature, seed) of an item id such as
    ``leetcode__01-two-sum[reference-t0-s0]`` (a dialect sweep adds ``-<dialect>``)."""
    fixture, _, variant = item.partition("[")
    found = re.fullmatch(r"(?P<label>.*)-t(?P<t>[0-9.e+-]+)-s(?P<s>-?\d+)(?:-[a-z0-9-]+)?\]", variant)
    if found is None:
        return fixture, variant.rstrip("]") or "?", 0.0, 0
    return fixture, found["label"], float(found["t"]), int(found["s"])


def crash_record(item_or_nodeid: str, message: str, turn: int = 0) -> ItemRecord:
    """The record of an item whose process died under it (pytest-xdist reports only the node id)."""
    item = item_or_nodeid.rpartition("::")[2]
    fixture, label, temperature, seed = item_parts(item)
    return ItemRecord(
        item=item,
        fixture=fixture,
        fixture_class=fixture.partition("__")[0],
        student=label,
        student_spec="",
        temperature=temperature,
        top_k=0,
        top_p=0,
        min_p=0,
        repeat_penalty=0,
        seed=seed,
        max_tokens=0,
        constrained=False,
        outcome="DriverError",
        outcome_fields=json.dumps({"message": message, "turn": turn}),
        passed=False,
    )


def file_scores(touched: list[str], reference: list[str]) -> tuple[float | None, float | None]:
    """(recall, precision) of the files a student changed against the reference solution's."""
    if not reference:
        return None, None
    hit = len(set(touched) & set(reference))
    recall = hit / len(reference)
    precision = hit / len(touched) if touched else 0.0
    return round(recall, 4), round(precision, 4)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def safe_name(item_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", item_name)[:180]


class RunWriter:
    """Owns ``reports/<run-id>/results.jsonl``: one whole line per finished item, flushed at once,
    so a run killed halfway keeps every finished result."""

    def __init__(self, reports: Path, run_id: str) -> None:
        self.reports, self.run_dir = reports, reports / run_id
        self.path = self.run_dir / "results.jsonl"
        self._handle: Any = None  # opened with the first record: a run that finishes none leaves no folder

    def append(self, record: ItemRecord) -> None:
        if self._handle is None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            repair_torn_tail(self.path)  # a record always starts on a fresh line
            self._handle = self.path.open("a", encoding="utf-8")
            _point_latest(self.reports, self.run_dir.name)
        self._handle.write(record.model_dump_json(by_alias=True) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def _point_latest(reports: Path, run_id: str) -> None:
    latest = reports / "latest"
    temporary = reports / f".latest-{run_id}"
    try:
        if temporary.is_symlink():
            temporary.unlink()
        temporary.symlink_to(run_id)
        os.replace(temporary, latest)
    except OSError:  # a file system without links still gets the run folder
        pass


def trajectory_path(run_dir: Path, item_name: str) -> Path:
    return run_dir / "trajectories" / f"{safe_name(item_name)}.json"


def write_trajectory(run_dir: Path, item_name: str, payload: dict[str, Any]) -> Path:
    """One JSON file per item, written whole (by whichever process ran the item)."""
    path = trajectory_path(run_dir, item_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    os.replace(temporary, path)
    return path


def _stored_turn(turn: Any) -> dict[str, Any]:
    """A turn as the trajectory keeps it: the cleaned text only where it differs from the raw text
    (readers fall back to ``raw_text``), both capped with a marker."""
    data = asdict(turn)
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
