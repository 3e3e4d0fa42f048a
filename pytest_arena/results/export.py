"""Training data from a run's trajectories (``arena-report RUN_DIR --export sft|dpo``).

- **sft**: every passing trajectory as one chat conversation, ``{"messages": [...], "item",
  "fixture", "student"}``. The messages are rebuilt from each turn's ``prompt_delta`` (what was
  added to the conversation before that turn: system prompt and task first, then tool results
  or nudges) followed by the assistant's text for that turn: the cleaned text the session kept
  in its conversation (``--assistant-text clean``, default) or the model's raw output
  (``raw``). Identical conversations (the ``reference`` student at several seeds) are written
  once.
- **dpo**: preference pairs ``{"prompt", "chosen", "rejected", "fixture", "student",
  "chosen_item", "rejected_item"}``. ``prompt`` is the conversation up to the first assistant
  turn (system + task), ``chosen``/``rejected`` the rest of a passing / a failing trajectory of
  the **same fixture and the same student** (other temperatures and seeds). Each failing run is
  used once, paired with the student's passing runs in turn. With ``--teacher LABEL`` a
  student that never passed a fixture gets that teacher's passing trajectory as ``chosen``
  instead. ``DriverError`` runs are never rejected examples (the harness failed, not the
  student), and a pair is only made when both trajectories start from the same prompt.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .junit import Evidence
from .record import ItemRecord
from .stats import group_by
from .tally import counted, outcome_counts
from .trajectory import Trajectory, read_trajectory, trajectory_path

Message = dict[str, str]


class ExportError(Exception):
    """The export cannot be made at all (no run folder); exit 2."""


@dataclass
class Conversation:
    record: ItemRecord
    messages: list[Message]
    prompt_len: int  # messages before the first assistant turn


@dataclass
class Loaded:
    trajectories: list[Conversation] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # trajectory files that could not be read


def _trajectory_file(run_dir: Path, record: ItemRecord) -> Path:
    return run_dir / record.trajectory if record.trajectory else trajectory_path(run_dir, record.item)


def conversation(trajectory: Trajectory, assistant_text: str = "clean") -> tuple[list[Message], int]:
    """(messages, how many come before the first assistant turn) of one trajectory file."""
    messages: list[Message] = []
    prompt_len = 0
    for index, turn in enumerate(trajectory.turns):
        messages.extend({"role": str(m["role"]), "content": str(m["content"])} for m in turn.prompt_delta)
        if index == 0:
            prompt_len = len(messages)
        text = turn.raw_text if assistant_text == "raw" else turn.cleaned_text
        messages.append({"role": "assistant", "content": text})
    return messages, prompt_len


def load_trajectories(evidence: Evidence, records: list[ItemRecord], assistant_text: str) -> Loaded:
    loaded = Loaded()
    for record in records:
        run_dir = evidence.run_dirs.get(record.item)
        if run_dir is None:
            loaded.missing.append(f"{record.item}: no run folder (read from JUnit)")
            continue
        path = _trajectory_file(run_dir, record)
        try:
            messages, prompt_len = conversation(read_trajectory(path), assistant_text)
        except (OSError, ValueError, KeyError) as exc:
            loaded.missing.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        if len(messages) <= prompt_len:
            loaded.missing.append(f"{path}: no turns")
            continue
        loaded.trajectories.append(Conversation(record, messages, prompt_len))
    return loaded


def _order(t: Conversation) -> tuple[float, int, str]:
    return (t.record.temperature, t.record.seed, t.record.item)


def export_sft(evidence: Evidence, records: list[ItemRecord], out: Path, assistant_text: str) -> tuple[int, str]:
    passing = [r for r in records if r.passed]
    loaded = load_trajectories(evidence, passing, assistant_text)
    seen: set[str] = set()
    lines: list[dict[str, object]] = []
    duplicates = 0
    for t in sorted(loaded.trajectories, key=lambda t: (t.record.fixture, t.record.student, *_order(t))):
        key = json.dumps(t.messages, sort_keys=True)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        lines.append(
            {"messages": t.messages, "item": t.record.item, "fixture": t.record.fixture, "student": t.record.student}
        )
    _write_jsonl(out, lines)
    text = f"wrote {len(lines)} SFT conversation(s) to {out}"
    details = [f"{len(passing)} passing of {len(records)} runs"]
    if duplicates:
        details.append(f"{duplicates} identical conversation(s) written once")
    if loaded.missing:
        details.append(f"{len(loaded.missing)} trajectory file(s) unreadable, first: {loaded.missing[0]}")
    text += " (" + "; ".join(details) + ")"
    if not lines:
        if not records:
            text += ". Zero because no run was selected"
        elif not passing:
            outcomes = outcome_counts(records)
            text += f". Zero because no run passed (outcomes: {outcomes}); SFT takes passing trajectories only"
        else:
            text += ". Zero because no passing run has a readable trajectory"
    return len(lines), text


@dataclass
class _PairTally:
    """What happened while pairing, for the line that explains the count (and a zero count)."""

    prompt_mismatch: int = 0
    used_teacher: int = 0
    passes_only: set[str] = field(default_factory=set)
    fails_only: set[str] = field(default_factory=set)


def _pairs_for(
    fixture: str,
    student: str,
    own: list[Conversation],
    teacher_passes: list[Conversation],
    teacher: str | None,
    tally: _PairTally,
) -> list[dict[str, object]]:
    """DPO pairs of one student on one fixture: each failing trajectory against a passing one
    (the student's own, else the teacher's) that started from the same prompt."""
    passed = sorted((t for t in own if t.record.passed), key=_order)
    failed = sorted((t for t in own if not t.record.passed), key=_order)
    if not failed:
        tally.passes_only.add(f"{student} on {fixture}")
        return []
    chosen_pool = passed or (teacher_passes if teacher and student != teacher else [])
    if not chosen_pool:
        tally.fails_only.add(f"{student} on {fixture}")
        return []
    pairs: list[dict[str, object]] = []
    for index, rejected in enumerate(failed):
        chosen = chosen_pool[index % len(chosen_pool)]
        if chosen.messages[: chosen.prompt_len] != rejected.messages[: rejected.prompt_len]:
            tally.prompt_mismatch += 1
            continue
        tally.used_teacher += chosen.record.student != student
        pairs.append(
            {
                "prompt": rejected.messages[: rejected.prompt_len],
                "chosen": chosen.messages[chosen.prompt_len :],
                "rejected": rejected.messages[rejected.prompt_len :],
                "fixture": fixture,
                "student": student,
                "chosen_item": chosen.record.item,
                "rejected_item": rejected.record.item,
            }
        )
    return pairs


def _zero_pairs_reason(usable: list[ItemRecord], tally: _PairTally, teacher: str | None) -> str:
    reasons = []
    if not usable:
        reasons.append("no run without DriverError was selected")
    if tally.passes_only:
        reasons.append("only passing runs for " + ", ".join(sorted(tally.passes_only)))
    if tally.fails_only:
        reasons.append("only failing runs for " + ", ".join(sorted(tally.fails_only)))
    if tally.prompt_mismatch:
        reasons.append("the candidate pairs start from different prompts")
    hint = (
        ""
        if teacher
        else "; pass --teacher LABEL (e.g. reference) to pair a teacher's passing trajectory "
        "with a student's failing one"
    )
    return (
        ". Zero because no (fixture, student) has both a passing and a failing trajectory: "
        + "; ".join(reasons or ["no readable trajectories"])
        + hint
    )


def export_dpo(
    evidence: Evidence,
    records: list[ItemRecord],
    out: Path,
    assistant_text: str,
    teacher: str | None = None,
    students: list[str] | None = None,
) -> tuple[int, str]:
    usable = counted(records)  # harness faults are no examples
    loaded = load_trajectories(evidence, usable, assistant_text)
    tally = _PairTally()
    lines: list[dict[str, object]] = []
    for fixture, trajectories in sorted(group_by(loaded.trajectories, lambda t: t.record.fixture).items()):
        teacher_passes = sorted(
            (t for t in trajectories if teacher and t.record.student == teacher and t.record.passed), key=_order
        )
        for student, own in sorted(group_by(trajectories, lambda t: t.record.student).items()):
            if not students or student in students:
                lines.extend(_pairs_for(fixture, student, own, teacher_passes, teacher, tally))
    _write_jsonl(out, lines)
    details = [f"{len(usable)} runs without DriverError of {len(records)}"]
    if tally.used_teacher:
        details.append(f"{tally.used_teacher} with teacher '{teacher}' as chosen")
    if tally.prompt_mismatch:
        details.append(f"{tally.prompt_mismatch} skipped: chosen and rejected start from different prompts")
    if loaded.missing:
        details.append(f"{len(loaded.missing)} trajectory file(s) unreadable, first: {loaded.missing[0]}")
    text = f"wrote {len(lines)} DPO pair(s) to {out} (" + "; ".join(details) + ")"
    if not lines:
        text += _zero_pairs_reason(usable, tally, teacher)
    return len(lines), text


def _write_jsonl(out: Path, lines: list[dict[str, object]]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def run_export(
    evidence: Evidence,
    kind: str,
    out: Path | None,
    *,
    teacher: str | None = None,
    students: list[str] | None = None,
    assistant_text: str = "clean",
) -> int:
    """Writes the export and says on stderr how many and, at zero, why. Returns the count."""
    if not evidence.run_dirs:
        raise ExportError(
            "--export needs a run folder (reports/<run-id> with trajectories/); JUnit files carry no trajectories"
        )
    # A pass on an impossible twin is a forged one: never a training example.
    records = [r for r in evidence.records if r.item in evidence.run_dirs and not r.impossible]
    if students:
        known = sorted({r.student for r in records})
        unknown = [s for s in students if s not in known]
        if unknown:
            raise ExportError(f"--student {unknown[0]}: not in the run; students: {', '.join(known)}")
        # the teacher's runs stay available as chosen examples
        records = [r for r in records if r.student in students or (teacher and r.student == teacher)]
    if out is None:
        first = next(iter(evidence.run_dirs.values()))
        out = first / f"{kind}.jsonl"
    if kind == "sft":
        selected = [r for r in records if not students or r.student in students]
        count, text = export_sft(evidence, selected, out, assistant_text)
    else:
        count, text = export_dpo(evidence, records, out, assistant_text, teacher, students)
    print(f"arena-report: {text}", file=sys.stderr)
    return count
