"""Reading results back: JUnit XML files (``--junitxml``) and run folders (``reports/<run-id>/``).

Both ``arena-gate`` and ``arena-report`` start here. Every arena item becomes one
:class:`~pytest_arena.results.record.ItemRecord`, rebuilt from the ``arena.*`` properties (JUnit) or
from the JSON line (``results.jsonl``).

**Latest wins.** The same item can be read more than once: CI shards that overlap, a rerun of
failed items (``pytest --lf``) written to a second file, pytest-xdist output concatenated with an
earlier one. Items are identified by their item id (``arena.item``, e.g.
``leetcode__01-two-sum[reference-t0-s0]``: fixture, student label, temperature, seed). "Latest"
means the last one read: inputs are read in the order given on the command line, and each file
from top to bottom, so a later file replaces an earlier one and, inside one file, a later test
case replaces an earlier one. Timestamps are not consulted: give the rerun's file last.
Records keep the position of their first occurrence, so output order stays stable. An item read
from two inputs is a warning naming it and both (a repeat inside one file is only counted).

**Shards.** Each record names the ``--arena-shard I/N`` run that made it, so CI shards merge into
one set of records; a shard of N that none of the records name is a warning (:mod:`.shards`).

Nothing here imports the session or pytest: these are plain result files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from xml.etree.ElementTree import ParseError

from junitparser import JUnitXmlError
from junitparser.xunit2 import JUnitXml
from pydantic import ValidationError

from .record import PREFIX, ItemRecord
from .shards import missing_shards

RESULTS = "results.jsonl"
DUPLICATES_NAMED = 20  # items named one by one when two inputs hold them; the rest are counted


class InputError(Exception):
    """An input that cannot support a decision; the text names the file and the reason."""


@dataclass
class Source:
    """One file read: what it was and what it held."""

    path: Path
    kind: str  # "junit" or "results"
    cases: int = 0  # test cases (JUnit) or lines (results.jsonl) seen
    records: int = 0  # arena records taken from it

    def describe(self) -> str:
        unit = "test cases" if self.kind == "junit" else "lines"
        return f"{self.path} ({self.kind}: {self.records} arena records of {self.cases} {unit})"


@dataclass
class Evidence:
    """Records after latest-wins, plus where they came from."""

    records: list[ItemRecord] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    replaced: int = 0  # earlier occurrences replaced by a later one of the same item
    warnings: list[str] = field(default_factory=list)
    # item id -> run folder its trajectory lives in (run-folder input only)
    run_dirs: dict[str, Path] = field(default_factory=dict)


class _Collector:
    def __init__(self) -> None:
        self.by_item: dict[str, ItemRecord] = {}
        self.origin: dict[str, Path] = {}  # item id -> the run folder or JUnit file its record came from
        self.twice: list[str] = []  # items read from two inputs, as warnings
        self.evidence = Evidence()

    def add(self, record: ItemRecord, origin: Path, run_dir: Path | None = None) -> None:
        earlier = self.origin.get(record.item)
        if earlier is not None:
            self.evidence.replaced += 1
            if earlier.resolve() != origin.resolve():  # shards that overlap, a run in two inputs: say so
                self.twice.append(
                    f"{record.item}: recorded in both {earlier} and {origin}; the later one ({origin}) is taken"
                )
        self.by_item[record.item] = record  # dict keeps the first insertion position
        self.origin[record.item] = origin
        if run_dir is not None:
            self.evidence.run_dirs[record.item] = run_dir
        else:
            self.evidence.run_dirs.pop(record.item, None)

    def finish(self) -> Evidence:
        self.evidence.records = list(self.by_item.values())
        shown = self.twice[:DUPLICATES_NAMED]
        if len(self.twice) > len(shown):
            shown.append(f"... and {len(self.twice) - len(shown)} more items recorded in two inputs")
        self.evidence.warnings += shown + missing_shards(self.evidence.records)
        return self.evidence


def _validation_text(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "record"
        parts.append(f"{PREFIX}{where}: {error['msg']}")
    return "; ".join(parts)


def _parse_junit(path: Path) -> JUnitXml:
    """The XML tree of a JUnit file, or an InputError naming the file and what is wrong with it."""
    try:
        return cast(JUnitXml, JUnitXml.fromfile(str(path)))  # fromfile is typed on the base class
    except FileNotFoundError:
        raise InputError(f"{path}: no such file or folder") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a JUnit XML file (a run folder needs {RESULTS})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ParseError as exc:
        raise InputError(f"{path}: not well-formed XML ({exc})") from None
    except JUnitXmlError as exc:
        raise InputError(
            f"{path}: not a JUnit report: the root element must be <testsuites> or <testsuite> ({exc})"
        ) from None
    except Exception as exc:  # noqa: BLE001 - lxml, when installed, raises its own syntax errors
        raise InputError(f"{path}: not well-formed XML ({type(exc).__name__}: {exc})") from None


def _read_junit_file(path: Path, collector: _Collector) -> Source:
    source = Source(path, "junit")
    for suite in _parse_junit(path):
        for case in suite:
            source.cases += 1
            # pytest writes the xunit2 flavour: its test cases carry <properties>
            pairs = [(p.name or "", p.value) for p in case.properties()]  # type: ignore[attr-defined]
            if not any(name.startswith(PREFIX) for name, _ in pairs):
                continue
            try:
                record = ItemRecord.from_properties(pairs)
            except ValidationError as exc:
                raise InputError(
                    f"{path}: test case '{case.name}' has arena properties that do not "
                    f"make a record ({_validation_text(exc)})"
                ) from None
            source.records += 1
            collector.add(record, path)
    return source


def _no_records_text(evidence: Evidence) -> str:
    found = "; ".join(s.describe() for s in evidence.sources)
    if all(s.kind == "results" for s in evidence.sources):
        return (
            f"no arena results in {found}: the run finished no item (yet); "
            "is it still running, or did it collect nothing?"
        )
    return (
        f"no arena test cases in {found}. JUnit files from `pytest --arena --junitxml=FILE` carry "
        f"'{PREFIX}*' properties on every arena item; was --arena given?"
    )


def resolve_run_dir(path: Path) -> Path:
    """A run folder: ``reports/<run-id>``, ``reports/latest``, or ``reports`` (its ``latest``)."""
    if path.is_file() and path.name == RESULTS:
        return path.parent
    if (path / RESULTS).is_file():
        return path
    latest = path / "latest"
    if (latest / RESULTS).is_file():
        return latest
    if path.is_dir():
        raise InputError(
            f"{path}: not a run folder: no {RESULTS} in it (nor in {latest}); "
            "expected reports/<run-id> as written by `pytest --arena`"
        )
    raise InputError(f"{path}: no such run folder")


def _read_results_file(run_dir: Path, collector: _Collector, skip_bad_lines: bool = False) -> Source:
    path = run_dir / RESULTS
    source = Source(path, "results")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    # A run killed while writing leaves a torn last line: skip it. Elsewhere it is an error.
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        source.cases += 1
        try:
            record = ItemRecord.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as exc:
            reason = _validation_text(exc) if isinstance(exc, ValidationError) else str(exc)
            if number == len(lines):
                collector.evidence.warnings.append(
                    f"{path}: line {number} (the last) is incomplete, skipped ({reason}); was the run interrupted?"
                )
                continue
            if skip_bad_lines:
                collector.evidence.warnings.append(
                    f"{path}: line {number} is not a result record, skipped (--skip-bad-lines): {reason}"
                )
                continue
            raise InputError(
                f"{path}: line {number} is not a result record ({reason}). Fix: repair or delete that line, "
                "or pass --skip-bad-lines to leave it out (the output then names every line skipped)"
            ) from None
        source.records += 1
        collector.add(record, run_dir, run_dir)
    return source


def read_run_dirs(paths: list[Path]) -> Evidence:
    """Arena records from run folders' ``results.jsonl``, latest wins."""
    for path in paths:
        if not is_run_input(path):
            raise InputError(f"{path}: not a run folder (reports/<run-id> holding {RESULTS})")
    return load_inputs(paths)


def is_run_input(path: Path) -> bool:
    return path.is_dir() or path.name == RESULTS


def load_inputs(paths: list[Path], skip_bad_lines: bool = False) -> Evidence:
    """Run folders (or their ``results.jsonl``) and JUnit XML files, in the order given."""
    if not paths:
        raise InputError("no input given: pass a run folder (reports/<run-id>, reports/latest) or JUnit XML files")
    collector = _Collector()
    for path in paths:
        if is_run_input(path):
            source = _read_results_file(resolve_run_dir(path), collector, skip_bad_lines)
        else:
            source = _read_junit_file(path, collector)
        collector.evidence.sources.append(source)
    evidence = collector.finish()
    if not evidence.records:
        raise InputError(_no_records_text(evidence))
    return evidence


def record_value(record: ItemRecord, key: str) -> Any:
    """A record field (``class`` for the fixture class) or, failing that, a ``student_info`` key
    (``student.KEY`` names the latter explicitly). Missing: None."""
    if key.startswith("student."):
        return record.student_info.get(key[len("student.") :])
    if key == "class":
        key = "fixture_class"
    if key in ItemRecord.model_fields and key != "student_info":
        return getattr(record, key)
    return record.student_info.get(key)
