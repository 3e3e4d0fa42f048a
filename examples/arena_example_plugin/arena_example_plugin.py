"""A worked example of a pytest-arena plugin: one module using all four arena hooks.

It adds

* a student scheme ``--arena-student replay:PATH.jsonl`` (hook ``pytest_arena_make_student``):
  a student that replays turns from a JSONL file, one JSON object per line::

      {"fixture": "leetcode__01-two-sum", "call": "file_write", "input": {"path": "src/lib.rs", "content": "..."}}
      {"fixture": "*", "say": "raw text, parsed exactly like a model's answer"}

  The lines whose ``fixture`` is the session's fixture id are used (else the ``"*"`` lines; a line
  without ``fixture`` counts as ``"*"``). When they run out the student calls ``finish``. It needs
  no model and no network, so it re-scores recorded sessions. ``two-sum.jsonl`` beside this
  module is a sample: ``--arena-student replay:examples/arena_example_plugin/two-sum.jsonl``.
* a tool ``repo_map(path?)`` (hook ``pytest_arena_tools``): every file under ``path`` with its
  top-level ``fn``/``struct``/``impl``/``def``/``class`` lines. It shows up in the system prompt and
  in the constrained-decoding schema like the built-in tools.
* a compliance check ``no_todo_comments`` (hook ``pytest_arena_compliance``): fails when a comment
  under ``src/`` says TODO or FIXME. A fix that passes the tests but leaves one ends as
  ``ComplianceFailed(check='no_todo_comments')``.
* a tiny dashboard (hook ``pytest_arena_session_finish``): one JSON line per finished session,
  appended to the file named by ``$ARENA_EXAMPLE_SUMMARY`` or the ini key ``arena_example_summary``.

Loading it::

    pip install examples/arena_example_plugin          # entry point pytest11 -> every pytest run
    PYTHONPATH=examples/arena_example_plugin pytest -p arena_example_plugin --arena ...   # one run

Use one route, not both: pytest refuses the same module registered under two names (a local
build leaves an ``.egg-info`` here that makes the folder on PYTHONPATH count as installed).

Writing your own plugin:

* Name functions after the hookspecs in ``pytest_arena/hookspecs.py`` in any module pytest loads as
  a plugin: an installed ``pytest11`` entry point, ``-p module``, or a ``conftest.py``.
* ``pytest_arena_make_student`` is ``firstresult``: return a Student for the specs you own and
  ``None`` for every other spec. The built-in schemes (``reference``, ``scripted:``, ``llama:``,
  ``openai:``, ``default``) are ``trylast`` implementations of the same hook, so a plugin may also
  take over a built-in name. Raise ``StudentError`` for a spec you own but cannot serve: the items
  of that student fail at setup as ``DriverError`` with your message.
* A tool is a ``ToolSpec``; its handler gets the session's ``Workspace`` and the call's input
  (strings only) and returns the text shown to the student. Reach files only through
  ``workspace.resolve(path)`` / ``workspace.write_text`` (they refuse ``..``, absolute paths and
  symlinks that lead outside) and run commands only through ``workspace.run`` (the sandbox). Raise
  ``ToolError`` for a call you cannot carry out: the student reads the message. A tool marked
  ``writes=True`` must name the file it writes in a ``path`` input (compliance gating reads it).
* A compliance check is a ``ComplianceCheck(name, run)``; ``run(workspace, timeout_s)`` returns a
  ``CommandResult`` whose ``exit_code`` 0 means compliant. Checks run after the fixture's
  ``compliance_cmd``, only when the tests pass (and after each write with
  ``--arena-compliance-enforced``).
* ``pytest_arena_session_finish`` runs in the process that ran the item (an xdist worker under
  ``-n``), before the item's pass/fail is raised. An item that fails at setup (a student that
  cannot load: ``DriverError`` at turn 0; a missing program or sandbox: ``HarnessError``) runs no
  session but reaches it too, with that outcome and no turns.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_arena import (
    CommandResult,
    ComplianceCheck,
    FixtureSpec,
    GenerationResult,
    SessionResult,
    Student,
    StudentConfig,
    StudentError,
    ToolCall,
    ToolError,
    ToolSpec,
    Workspace,
)
from pytest_arena.engine.student import Message
from pytest_arena.engine.workspace import PathRefused, iter_files

SCHEME = "replay:"
SUMMARY_ENV = "ARENA_EXAMPLE_SUMMARY"
SUMMARY_INI = "arena_example_summary"
MAX_SCANNED_BYTES = 256 * 1024  # per file, for repo_map and no_todo_comments
MAX_MAP_LINES = 300


# -- student scheme: replay:PATH.jsonl ----------------------------------------------------------


class ReplayStudent:
    """Replays the turns of a JSONL file (see the module docstring), then calls finish."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"replay-{path.stem}"
        self.lines = self._load(path)
        self._turns: list[str] = []
        self._next = 0
        self._schema_tools: list[str] = []

    @staticmethod
    def _load(path: Path) -> list[tuple[str, str]]:
        """(fixture id or "*", raw turn text) per non-blank line."""
        try:
            raw_lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise StudentError(f"replay student: cannot read {path}: {exc.strerror or exc}") from None
        lines: list[tuple[str, str]] = []
        for number, raw in enumerate(raw_lines, 1):
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise StudentError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if isinstance(entry, dict) and isinstance(entry.get("say"), str):
                text = entry["say"]
            elif isinstance(entry, dict) and isinstance(entry.get("call"), str):
                text = ToolCall(entry["call"], entry.get("input", {})).to_text()
            else:
                raise StudentError(
                    f'{path}:{number}: expected {{"fixture"?: ID, "say": TEXT}} or '
                    '{"fixture"?: ID, "call": TOOL, "input": {...}}'
                )
            lines.append((str(entry.get("fixture", "*")), text))
        return lines

    def start(self, fixture: FixtureSpec, config: StudentConfig) -> None:
        mine = [text for fid, text in self.lines if fid == fixture.id]
        self._turns = mine or [text for fid, text in self.lines if fid == "*"]
        self._next = 0
        # With --arena-constrain the session passes the JSON schema of one tool call; a model
        # backend would compile it to a grammar. We only note which tools it offers.
        schema = json.loads(config.tool_schema) if config.tool_schema else {}
        self._schema_tools = [s["properties"]["name"]["const"] for s in schema.get("oneOf", [schema] if schema else [])]

    def generate(self, messages: list[Message], config: StudentConfig) -> GenerationResult:
        if self._next < len(self._turns):
            text = self._turns[self._next]
        else:
            text = ToolCall("finish", {"summary": "replay exhausted"}).to_text()
        self._next += 1
        return GenerationResult(text=text, completion_tokens=len(text.split()))

    def describe(self) -> dict[str, Any]:
        """Provenance: recorded as ``arena.student.*`` properties of every item."""
        return {
            "student": self.name,
            "backend": "replay",
            "script": str(self.path),
            "schema_tools": ",".join(self._schema_tools),
        }


def pytest_arena_make_student(config: pytest.Config, spec: str) -> Student | None:
    if not spec.startswith(SCHEME):
        return None  # not ours: the next implementation (in the end the built-ins) decides
    path = Path(spec[len(SCHEME) :]).expanduser()
    if not path.is_absolute():
        path = Path(config.invocation_params.dir) / path
    return ReplayStudent(path)


# -- extra tool: repo_map -------------------------------------------------------------------------

# A top-level item, or a method one indentation level down (inside `impl` / `class`).
_SIGNATURE = re.compile(
    r"^(?: {4})?(?:(?:pub(?:\([\w:]+\))?|async|const|unsafe)\s+)*"
    r"(?:fn|struct|enum|trait|impl|mod|type|def|class)\b"
)
_SOURCE_SUFFIXES = (".rs", ".py")


def _signatures(text: str) -> list[str]:
    return [line.rstrip().rstrip("{:").rstrip() for line in text.splitlines() if _SIGNATURE.match(line)]


def repo_map(ws: Workspace, args: dict[str, Any]) -> str:
    """Files under ``path`` (default: the project root), each with its signatures."""
    start = ws.resolve(args.get("path") or ".", must_exist=True)  # PathRefused goes to the student
    if not start.is_dir():
        raise ToolError(f"{args['path']}: not a folder; use file_read for a file")
    prefix = "" if start == ws.root else ws.relative(start) + "/"
    out: list[str] = []
    for rel in (prefix + p for p in iter_files(start)):
        try:
            real = ws.resolve(rel)  # a symlink leading outside is skipped, never read
        except PathRefused:
            out.append(f"{rel}  (link outside the project; skipped)")
            continue
        out.append(rel)
        if real.is_file() and rel.endswith(_SOURCE_SUFFIXES):
            with real.open("rb") as handle:
                text = handle.read(MAX_SCANNED_BYTES).decode("utf-8", errors="replace")
            out.extend(f"    {sig}" for sig in _signatures(text))
    if len(out) > MAX_MAP_LINES:
        out = [*out[:MAX_MAP_LINES], f"[{len(out) - MAX_MAP_LINES} more lines; pass a narrower path]"]
    return "\n".join(out) or "(no files)"


REPO_MAP = ToolSpec(
    "repo_map",
    "list files with their top-level fn/struct/impl/def/class signatures",
    {"path": "optional folder (default: the project root)"},
    (),
    repo_map,
)


def pytest_arena_tools(config: pytest.Config, fixture: FixtureSpec) -> list[ToolSpec]:
    return [REPO_MAP]


# -- extra compliance check: no_todo_comments -----------------------------------------------------

_TODO = re.compile(r"(?://|#|/\*|^\s*\*).*\b(?:TODO|FIXME)\b")


def no_todo_comments(ws: Workspace, timeout_s: float) -> CommandResult:
    """Exit code 1 (with ``file:line: text`` per hit) when a comment under src/ says TODO/FIXME."""
    started = time.monotonic()
    command = "no_todo_comments: TODO/FIXME comments under src/"
    try:
        src = ws.resolve("src")
    except PathRefused as exc:  # src itself is a link out of the project
        return CommandResult(command, 1, str(exc), time.monotonic() - started)
    hits: list[str] = []
    for rel in (f"src/{p}" for p in (iter_files(src) if src.is_dir() else [])):
        if time.monotonic() - started > timeout_s:
            return CommandResult(command, None, "\n".join(hits), timeout_s, timed_out=True)
        try:
            real = ws.resolve(rel)
        except PathRefused:
            continue
        if not real.is_file():
            continue
        with real.open("rb") as handle:
            text = handle.read(MAX_SCANNED_BYTES).decode("utf-8", errors="replace")
        hits.extend(f"{rel}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if _TODO.search(line))
    output = "\n".join(hits) if hits else "no TODO/FIXME comments under src/"
    return CommandResult(command, 1 if hits else 0, output, time.monotonic() - started)


def pytest_arena_compliance(config: pytest.Config, fixture: FixtureSpec, workspace: Workspace) -> list[ComplianceCheck]:
    return [ComplianceCheck("no_todo_comments", no_todo_comments)]


# -- session_finish: a one-line-per-item JSONL dashboard ------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        SUMMARY_INI,
        f"file the example plugin appends one JSON line per arena item to (${SUMMARY_ENV} wins)",
        default="",
    )


def pytest_arena_session_finish(item: pytest.Item, result: SessionResult) -> None:
    target = os.environ.get(SUMMARY_ENV) or str(item.config.getini(SUMMARY_INI))
    if not target:
        return
    path = Path(target) if Path(target).is_absolute() else Path(item.config.rootpath) / target
    spec = getattr(item, "spec", None)
    line = json.dumps(
        {
            "item": item.name,
            "fixture": spec.id if spec is not None else "",
            "outcome": result.outcome.name,
            "fields": result.outcome.fields(),
            "passed": result.outcome.passed,
            "turns": len(result.turns),
            "tool_calls": sum(len(turn.calls) for turn in result.turns),
            "wall_s": round(result.wall_s, 3),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write per line in append mode: xdist workers can share the file.
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
