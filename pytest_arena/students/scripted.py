"""Students that replay text: ``scripted:PATH`` (recorded or hand-written turns) and ``reference``
(the fixture's solution/ as file_write calls, then finish)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..engine.corpus import FixtureSpec
from ..engine.dialects import DIALECTS
from ..engine.protocol import ToolCall
from ..engine.student import GenerationResult, Message, StudentBase, StudentConfig, StudentError
from ..engine.workspace import iter_files


class ScriptedStudent(StudentBase):
    """Says the listed raw texts one per turn; repeats the last when the list runs out."""

    def __init__(self, path: Path, name: str | None = None) -> None:
        self.path = path
        self.name = name or f"scripted-{path.stem}"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StudentError(f"scripted student file not found: {path}") from None
        except IsADirectoryError:
            raise StudentError(
                f"{path} is a folder; a scripted student is one JSON file: --arena-student scripted:PATH.json"
            ) from None
        except OSError as exc:
            raise StudentError(f"scripted student file {path} cannot be read ({exc.strerror or exc})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StudentError(
                f'{path}: not valid JSON ({exc}); expected {{"<fixture id>" or "*": ["turn text", ...]}}'
            ) from None
        if not isinstance(data, dict) or not all(
            isinstance(v, list) and v and all(isinstance(t, str) for t in v) for v in data.values()
        ):
            raise StudentError(f'{path}: expected an object mapping fixture ids (or "*") to non-empty lists of strings')
        self.scripts: dict[str, list[str]] = data
        self._turns: list[str] = []
        self._next = 0

    def start(self, fixture: FixtureSpec, config: StudentConfig) -> None:
        turns = self.scripts.get(fixture.id, self.scripts.get("*"))
        if turns is None:
            raise StudentError(f"{self.path}: no turns for fixture '{fixture.id}' and no \"*\" entry")
        self._turns, self._next = turns, 0

    def generate(self, messages: list[Message], config: StudentConfig) -> GenerationResult:
        # Turns the response cache replayed never reached this student: the history's own
        # assistant turns say which turn this is.
        turn = max(self._next, sum(m.get("role") == "assistant" for m in messages))
        text = self._turns[min(turn, len(self._turns) - 1)]
        self._next = turn + 1
        return GenerationResult(text=text, completion_tokens=len(text.split()))

    def describe(self) -> dict[str, Any]:
        return {"student": self.name, "backend": "scripted", "script": str(self.path)}


class ReferenceStudent(StudentBase):
    """The built-in teacher: writes every file of solution/ through the tool protocol, then finishes."""

    name = "reference"

    def __init__(self) -> None:
        self._turns: list[str] = []
        self._next = 0

    def start(self, fixture: FixtureSpec, config: StudentConfig) -> None:
        solution = fixture.solution_dir
        if not solution.is_dir():
            raise StudentError(
                f"{fixture.directory}: no solution/ folder; the reference student "
                "needs one (files overlaying repo/ that make the oracle pass)"
            )
        calls = [
            ToolCall("file_write", {"path": rel, "content": (solution / rel).read_text(encoding="utf-8")})
            for rel in iter_files(solution)
        ]
        calls.append(ToolCall("finish", {"summary": "applied the reference solution"}))
        # Written in the session's dialect, so the reference passes under every dialect.
        dialect = DIALECTS.get(config.dialect, DIALECTS["hermes"])
        self._turns = [dialect.render_calls([call]) for call in calls]
        self._next = 0

    def generate(self, messages: list[Message], config: StudentConfig) -> GenerationResult:
        text = self._turns[min(self._next, len(self._turns) - 1)]
        self._next += 1
        return GenerationResult(text=text)

    def describe(self) -> dict[str, Any]:
        return {"student": self.name, "backend": "reference"}
