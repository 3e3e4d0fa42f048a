"""One JSON file per item under ``reports/<run-id>/trajectories/``: the record, the verdict and every
turn, written whole by whichever process ran the item (never a torn or half-named file).

:class:`Trajectory` is the file's one model: the writer builds it, and the item pages, the export and
``--arena-resume`` read it. ``version`` says which writer made a file; a file from before versions
(no ``version`` key) reads as version 0, and every key added since has a default, so old runs still
report and resume."""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import fields
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from ..engine.clipping import bounded, clip_middle
from ..engine.session import SessionResult, Turn
from ..engine.student import FinishReason
from ..engine.student import finish_reason as known_finish_reason
from .record import ItemRecord
from .run_folder import ReportsUnwritable

TRAJECTORY_VERSION = 1  # 1: the first versioned file (the keys of the unversioned files, plus `version`)
TRAJECTORY_TEXT_CHARS = 64 * 1024  # per turn text; a runaway 5 MB turn must not make a 10 MB file
STORED_LEVELS = 64  # nesting kept in a stored turn (arguments are refused past 32 levels already)


class _Stored(BaseModel):
    # A key a newer writer added survives a read by an older reader.
    model_config = ConfigDict(extra="allow")


class StoredCall(_Stored):
    name: str = "?"
    input: JsonValue = Field(default_factory=dict)
    salvaged: bool = False


class StoredResult(_Stored):
    name: str = "?"
    ok: bool = False
    output: str = ""
    seconds: float = 0.0


class StoredTurn(_Stored):
    """A session's Turn as stored: its text capped, the cleaned text only where it differs."""

    index: int = 0
    prompt_delta: list[dict[str, JsonValue]] = Field(default_factory=list)
    raw_text: str = ""
    text: str | None = None  # None (no key in the file): the same as raw_text
    calls: list[StoredCall] = Field(default_factory=list)
    results: list[StoredResult] = Field(default_factory=list)
    finish_reason: Annotated[FinishReason, BeforeValidator(known_finish_reason)] = "stop"
    prompt_tokens: int = 0
    prefill_tokens: int = 0
    completion_tokens: int = 0
    generation_s: float = 0.0
    tools_s: float = 0.0
    unparsed_chars: int = 0
    stop_detail: str = ""
    dropped_calls: int = 0
    cached: bool = False  # written only when True: the response cache answered the turn

    @property
    def cleaned_text(self) -> str:
        return self.raw_text if self.text is None else self.text

    @model_serializer(mode="wrap")
    def _as_written(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)
        if self.text is None:
            del data["text"]
        if not self.cached:
            del data["cached"]
        return data

    @classmethod
    def of(cls, turn: Turn) -> StoredTurn:
        """Fields are copied one level deep (not ``asdict``, whose recursion a deeply nested value
        would overflow), nesting past STORED_LEVELS replaced by a note."""
        data = bounded({f.name: getattr(turn, f.name) for f in fields(turn)}, STORED_LEVELS)
        raw, text = data["raw_text"], data["text"]
        data["raw_text"] = clip_middle(raw, TRAJECTORY_TEXT_CHARS)
        data["text"] = None if text == raw else clip_middle(text, TRAJECTORY_TEXT_CHARS)
        return cls.model_validate(data)


class CheckDetail(_Stored):
    """One check the oracle ran (Verdict.detail)."""

    name: str = "tests"
    command: str = ""
    status: str = ""
    output: str = ""


class VerdictDetail(_Stored):
    tests: CheckDetail | None = None
    compliance: list[CheckDetail] = Field(default_factory=list)

    @property
    def checks(self) -> list[CheckDetail]:
        return [check for check in (self.tests, *self.compliance) if check is not None]


class Trajectory(BaseModel):
    version: int = 0  # TRAJECTORY_VERSION when written; 0: a file from before versions
    record: ItemRecord | None = None
    oracle: str = ""  # the verdict as assertion text
    turns: list[StoredTurn] = Field(default_factory=list)
    verdict: VerdictDetail | None = None  # None: no oracle ran (written as {})
    rendered_prompt: str = ""
    # None: a file from before the key (readers fall back to the record's comma-separated paths)
    dropped_changes: list[str] | None = None
    suppressions: list[str] | None = None
    own_tree_verdict: VerdictDetail | None = None  # only when the student's own tree was judged

    @model_serializer(mode="wrap")
    def _as_written(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)
        if self.verdict is None:
            data["verdict"] = {}
        if self.own_tree_verdict is None:
            del data["own_tree_verdict"]
        return data

    @classmethod
    def of(cls, record: ItemRecord, result: SessionResult) -> Trajectory:
        verdict, own = result.verdict, result.own_verdict
        return cls(
            version=TRAJECTORY_VERSION,
            record=record,
            oracle=verdict.explain() if verdict else "",
            turns=[StoredTurn.of(turn) for turn in result.turns],
            verdict=VerdictDetail.model_validate(verdict.detail()) if verdict else None,
            rendered_prompt=result.rendered_prompt,
            dropped_changes=list(result.dropped),
            suppressions=list(result.suppressions),
            own_tree_verdict=VerdictDetail.model_validate(own.detail()) if own is not None else None,
        )


def safe_name(item_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", item_name)[:180]


def trajectory_name(item_name: str) -> str:
    """Where an item's trajectory lies in its run folder, as its record names it."""
    return f"trajectories/{safe_name(item_name)}.json"


def trajectory_path(run_dir: Path, item_name: str) -> Path:
    return run_dir / trajectory_name(item_name)


def read_trajectory(path: Path) -> Trajectory:
    """Raises OSError, or ValueError (pydantic's ValidationError is one) for a file that is not a
    trajectory."""
    return Trajectory.model_validate_json(path.read_bytes())


def write_trajectory(run_dir: Path, item_name: str, trajectory: Trajectory) -> Path:
    """Written to a temporary name, then renamed; a failed write (a full disk) leaves nothing
    behind and raises ReportsUnwritable."""
    path = trajectory_path(run_dir, item_name)
    temporary = path.with_suffix(".json.tmp")
    text = json.dumps(trajectory.model_dump(by_alias=True), indent=1, default=str)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise ReportsUnwritable(temporary, exc) from None
    return path


def save_trajectory(run_dir: Path, item_name: str, record: ItemRecord, result: SessionResult) -> str | None:
    """Writes the item's trajectory and points ``record`` at it; returns why it could not be
    written (the record then names no trajectory), or None."""
    record.trajectory = trajectory_name(item_name)
    try:
        write_trajectory(run_dir, item_name, Trajectory.of(record, result))
    except ReportsUnwritable as exc:
        record.trajectory = ""
        return str(exc)
    return None
