"""The record and the trajectory as typed models: ``ItemRecord.from_session`` keeps exactly the keys
records always had, a written trajectory is versioned with the keys it always had, and a trajectory
written before versions still reads: the item page, the export and --arena-resume take it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_arena.engine.corpus import load_fixture
from pytest_arena.engine.session import SessionResult
from pytest_arena.engine.student import StudentConfig, finish_reason
from pytest_arena.results.export import conversation
from pytest_arena.results.item_page import render_item
from pytest_arena.results.record import ItemFacts, ItemRecord
from pytest_arena.results.resume import orphaned_records
from pytest_arena.results.trajectory import (
    TRAJECTORY_VERSION,
    StoredTurn,
    read_trajectory,
    save_trajectory,
    trajectory_path,
)

from .helpers import FINISH, ROOT, call, scripted_session, tiny_fixture

# Written by the writer before trajectories had a version (a passing run of tiny_fixture).
UNVERSIONED = ROOT / "tests" / "data" / "trajectory_unversioned.json"

RECORD_KEYS = [
    "item", "run_id", "shard", "fixture", "class", "difficulty", "mutation_operator", "student", "student_spec",
    "temperature", "top_k", "top_p", "min_p", "repeat_penalty", "seed", "max_tokens", "constrained", "turn_timeout_s",
    "repetition_stop", "tool_choice", "sandbox", "fixture_sha256", "settings_sha256", "outcome", "outcome_fields",
    "passed",
    "failed_clause", "turns", "text_turns", "well_formed_turns", "strict_calls", "salvaged_calls",
    "truncated_turns", "tokens_prompt", "tokens_prefill", "tokens_completion", "generation_s", "tools_s",
    "oracle_s", "wall_s", "recovery_observed", "files_touched", "solution_files", "file_recall",
    "file_precision", "restored_protected", "dropped_changes", "suppressions", "impossible", "f2p_total",
    "f2p_passed", "p2p_total", "p2p_broken", "diff", "dialect", "dialect_source", "dialect_reason",
    "dialect_template_sha256", "dialect_grammar", "native_calls", "content_fallback_calls", "cache_hits", "trajectory",
    "git_commit", "git_dirty", "arena_version", "pytest_version", "llama_cpp_version", "student_info",
]  # fmt: skip
# Keys added to records after that file was written; older records read with their defaults.
# issue 22: the --arena-shard run that made the record; turns replayed from --arena-cache.
# issue 25: the mutation operator of an arena-synth fixture.
ADDED_SINCE_UNVERSIONED = {"shard", "cache_hits", "tool_choice", "mutation_operator"}
TRAJECTORY_KEYS = ["record", "oracle", "turns", "verdict", "rendered_prompt", "dropped_changes", "suppressions"]


def _record(tmp_path: Path) -> tuple[ItemRecord, SessionResult]:
    fixture = tiny_fixture(tmp_path)
    turns = ["let me look", call("file_write", path="answer.txt", content="42\n"), FINISH]
    result = scripted_session(tmp_path, fixture, turns)
    facts = ItemFacts(
        item="tiny__01-answer[s-t0-s0]", run_id="run", spec=load_fixture(fixture), student="s", student_spec="s",
        dialect="auto", fixture_sha256="f" * 64, settings_sha256="s" * 64, sandbox="bwrap",
        config=StudentConfig(), student_info={"backend": "scripted", "nested": {"dropped": True}}, root=ROOT,
        shard="2/3",
    )  # fmt: skip
    return ItemRecord.from_session(facts, result), result


def test_a_record_from_a_session_has_exactly_the_keys_records_always_had(tmp_path: Path) -> None:
    record, _ = _record(tmp_path)
    assert list(record.model_dump(by_alias=True)) == RECORD_KEYS
    old = json.loads(UNVERSIONED.read_text())["record"]
    assert list(old) == [key for key in RECORD_KEYS if key not in ADDED_SINCE_UNVERSIONED]
    assert ItemRecord.model_validate(old).shard == ""  # an older record: from an unsharded run
    assert record.shard == "2/3"  # ItemFacts.shard, the run's --arena-shard
    assert record.outcome == "OraclePassed" and record.turns == 3 and record.text_turns == 1
    assert record.files_touched == "answer.txt" and record.file_recall == 1.0
    assert record.student_info == {"backend": "scripted"}  # scalars only: a record is flat
    assert record.mutation_operator is None  # a hand-written fixture
    assert ItemRecord.model_validate(old).mutation_operator is None


def test_a_synthesized_fixtures_record_names_its_mutation_operator(tmp_path: Path) -> None:
    fixture = tiny_fixture(tmp_path)
    with (fixture / "meta.toml").open("a", encoding="utf-8") as meta:
        meta.write('mutation = { operator = "comparison_boundary", file = "answer.txt", line = 1 }\n')
    result = scripted_session(tmp_path, fixture, [FINISH])
    facts = ItemFacts(
        item="tiny__01-answer[s-t0-s0]", run_id="run", spec=load_fixture(fixture), student="s", student_spec="s",
        dialect="auto", fixture_sha256="f" * 64, settings_sha256="s" * 64, sandbox="bwrap",
        config=StudentConfig(), student_info={}, root=ROOT,
    )  # fmt: skip
    record = ItemRecord.from_session(facts, result)
    assert record.mutation_operator == "comparison_boundary"
    props = dict(record.to_properties())
    assert props["arena.mutation_operator"] == "comparison_boundary"
    assert ItemRecord.from_properties(props).mutation_operator == "comparison_boundary"


def test_a_written_trajectory_is_versioned_and_keeps_its_keys(tmp_path: Path) -> None:
    record, result = _record(tmp_path)
    run_dir = tmp_path / "run"
    assert save_trajectory(run_dir, record.item, record, result) is None
    path = trajectory_path(run_dir, record.item)
    written = json.loads(path.read_text())
    assert list(written) == ["version", *TRAJECTORY_KEYS] and written["version"] == TRAJECTORY_VERSION
    old_turn_keys = list(json.loads(UNVERSIONED.read_text())["turns"][0])
    assert [list(turn) for turn in written["turns"]] == [old_turn_keys] * 3  # "text" only where it differs
    assert written["record"]["trajectory"] == path.relative_to(run_dir).as_posix() == record.trajectory
    again = read_trajectory(path)
    assert again.record == record and [t.finish_reason for t in again.turns] == ["stop"] * 3


def test_a_trajectory_from_before_versions_still_reports_exports_and_resumes(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "trajectories").mkdir(parents=True)
    shutil.copy(UNVERSIONED, run_dir / "trajectories" / UNVERSIONED.name)
    trajectory = read_trajectory(run_dir / "trajectories" / UNVERSIONED.name)
    assert trajectory.version == 0 and trajectory.record is not None and len(trajectory.turns) == 4
    assert trajectory.verdict is not None and trajectory.verdict.checks[0].status == "passed"
    (recovered,) = orphaned_records(run_dir)  # no results.jsonl: the trajectory is the result
    assert recovered == trajectory.record and recovered.item == "tiny__01-answer[scripted-agent-t0-s0]"
    page = render_item(recovered, trajectory)
    assert page.count('<div class="turn">') == 4 and "tests: `sh tests/check.sh` (passed)" in page
    messages, prompt_len = conversation(trajectory)
    assert [m["role"] for m in messages[:prompt_len]] == ["system", "user"]
    assert len(messages) == prompt_len + 4 + 3  # each turn's text, and the tool results before turns 2-4


@pytest.mark.parametrize(
    ("given", "read"),
    [("length", "length"), ("repetition", "repetition"), ("tool_calls", "tool_calls"), (None, "stop"), ("odd", "stop")],
)
def test_a_finish_reason_is_one_of_the_known_names(given: object, read: str) -> None:
    assert finish_reason(given) == read
    assert StoredTurn.model_validate({"finish_reason": given}).finish_reason == read
