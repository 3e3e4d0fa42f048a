"""The per-item result record: built from a session, carried as ``arena.*`` user properties,
written as JSONL and trajectories under ``reports/<run-id>/``."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..engine.corpus import FixtureSpec
from ..engine.session import SessionResult
from ..engine.student import StudentConfig
from ..engine.workspace import iter_files
from .dialect_record import dialect_fields
from .item_id import ItemId
from .provenance import provenance

PREFIX = "arena."
Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class ItemFacts:
    """What the pytest item knows about itself beyond its session: the rest of its record."""

    item: str
    run_id: str
    spec: FixtureSpec
    student: str  # the label
    student_spec: str
    dialect: str  # as requested (--arena-dialect); the session's choice is in its result
    fixture_sha256: str
    settings_sha256: str
    sandbox: str
    config: StudentConfig
    student_info: Mapping[str, object]  # the student's describe()
    root: Path  # the project, whose commit the record names
    shard: str = ""  # "I/N" of --arena-shard; "" for an unsharded run


class ItemRecord(BaseModel):
    """Everything measured about one item (DESIGN.md section 7), flat so JUnit can carry it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    item: str
    run_id: str = ""
    shard: str = ""  # "I/N": the --arena-shard run that made it ("" unsharded, and in older records)
    fixture: str
    fixture_class: str = Field(alias="class")
    difficulty: int | None = None
    # arena-synth's mutation operator (meta.toml's mutation.operator); None for a hand-written fixture
    # (and in older records)
    mutation_operator: str | None = None
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
    tool_choice: str = "auto"  # --arena-tool-choice, sent to servers with native tools
    sandbox: str = ""  # --arena-sandbox: bwrap, or none (unconfined); "" in records from before it was kept
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
    cache_hits: int = 0  # turns the response cache answered (--arena-cache): no generation ran
    trajectory: str = ""
    git_commit: str = ""
    git_dirty: bool = False
    arena_version: str = ""
    pytest_version: str = ""
    llama_cpp_version: str = ""
    student_info: dict[str, Scalar] = Field(default_factory=dict)

    @classmethod
    def from_session(cls, facts: ItemFacts, result: SessionResult) -> ItemRecord:
        spec = facts.spec
        reference = iter_files(spec.solution_dir) if spec.solution_dir.is_dir() else []
        recall, precision = file_scores(result.files_touched, reference)
        tokens = result.tokens()
        verdict = result.verdict
        return cls(
            item=facts.item,
            run_id=facts.run_id,
            shard=facts.shard,
            fixture=spec.id,
            fixture_class=spec.fixture_class,
            difficulty=spec.difficulty,
            mutation_operator=spec.mutation.operator if spec.mutation is not None else None,
            student=facts.student,
            student_spec=facts.student_spec,
            fixture_sha256=facts.fixture_sha256,
            settings_sha256=facts.settings_sha256,
            sandbox=facts.sandbox,
            **facts.config.record(),
            tool_choice=facts.config.tool_choice,
            outcome=result.outcome.name,
            outcome_fields=json.dumps(result.outcome.fields()),
            passed=result.outcome.passed,
            failed_clause=(verdict.failed_clause or "") if verdict else "",
            turns=len(result.turns),
            text_turns=result.text_turns,
            well_formed_turns=result.well_formed_turns,
            strict_calls=result.strict_calls,
            salvaged_calls=result.salvaged_calls,
            truncated_turns=result.truncated_turns,
            tokens_prompt=tokens["prompt"],
            tokens_prefill=tokens["prefill"],
            tokens_completion=tokens["completion"],
            generation_s=round(result.generation_s, 4),
            tools_s=round(result.tools_s, 4),
            oracle_s=round(result.oracle_s, 4),
            wall_s=round(result.wall_s, 4),
            recovery_observed=result.recovery_observed,
            files_touched=",".join(result.files_touched),
            solution_files=",".join(reference),
            file_recall=recall,
            file_precision=precision,
            restored_protected=",".join(result.restored),
            dropped_changes=",".join(result.dropped_paths),
            suppressions=",".join(result.suppressed_at),
            impossible=spec.impossible,
            diff=result.diff[:20000],
            **(asdict(result.tests) if result.tests is not None else {}),
            **dialect_fields(result, facts.dialect),
            cache_hits=result.cache_hits,
            **provenance(facts.root),
            student_info={k: v for k, v in facts.student_info.items() if isinstance(v, str | int | float | bool)},
        )

    def to_properties(self) -> list[tuple[str, Scalar]]:
        data = self.model_dump(by_alias=True)
        info = data.pop("student_info")
        props = [(PREFIX + key, value) for key, value in data.items() if value is not None]
        props.extend((f"{PREFIX}student.{key}", value) for key, value in info.items() if value is not None)
        return props

    @classmethod
    def from_properties(cls, props: Iterable[tuple[str, object]] | Mapping[str, object]) -> ItemRecord:
        pairs = props.items() if isinstance(props, Mapping) else props
        data: dict[str, object] = {}
        info: dict[str, object] = {}
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
    """(fixture, student label, temperature, seed) of an item id (see :mod:`.item_id`)."""
    parsed = ItemId.parse(item)
    return parsed.fixture, parsed.student, parsed.temperature, parsed.seed


def crash_record(item_or_nodeid: str, message: str, turn: int = 0, shard: str = "") -> ItemRecord:
    """The record of an item whose process died under it (pytest-xdist reports only the node id)."""
    item = item_or_nodeid.rpartition("::")[2]
    fixture, label, temperature, seed = item_parts(item)
    return ItemRecord(
        item=item,
        shard=shard,
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
