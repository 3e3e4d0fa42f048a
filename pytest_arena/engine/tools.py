"""The student's tools (DESIGN.md section 5). Every path goes through workspace confinement."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from .clipping import clip_middle
from .harness import HarnessFault, sandbox_fault
from .languages import prompt_examples
from .workspace import PathRefused, Workspace, iter_files, matches_any

MAX_READ_BYTES = 256 * 1024
MAX_READ_LINES = 400
MAX_WRITE_BYTES = 512 * 1024
MAX_LISTED = 200
SHELL_TIMEOUT_S = 120.0
SHELL_OUTPUT_CAP = 16 * 1024
# Calls run per turn: a turn of thousands of calls would run for hours and fill the trajectory.
MAX_CALLS_PER_TURN = 32
RESULT_CHARS_IN_TRAJECTORY = 4000


class ToolError(Exception):
    """A tool call that cannot be carried out; its message goes back to the student."""


# A tool call's input as a handler gets it: the tool's declared parameters, each a string.
ToolArgs = Mapping[str, str]


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the student sees it (prompt, grammar) and the handler that carries it out."""

    name: str
    description: str
    parameters: dict[str, str]  # parameter -> one-line description
    required: tuple[str, ...]
    # A handler returns the text for the student, or a ToolOutcome when it has more to say
    # (the shell's exit code); it raises ToolError for a call it cannot carry out.
    handler: Callable[[Workspace, ToolArgs], str | ToolOutcome]
    writes: bool = False  # writes a file: compliance gating applies after it

    def json_schema(self) -> dict[str, object]:
        return {
            "type": "object",
            "properties": {
                "name": {"const": self.name},
                "input": {
                    "type": "object",
                    "properties": {p: {"type": "string"} for p in self.parameters},
                    "required": list(self.required),
                    "additionalProperties": False,
                },
            },
            "required": ["name", "input"],
        }


class ResultEntry(TypedDict):
    """A call's result as a session's Turn keeps it (and its trajectory stores it)."""

    name: str
    ok: bool
    output: str
    seconds: float


@dataclass
class ToolOutcome:
    name: str
    ok: bool
    output: str
    seconds: float = 0.0
    path: str | None = None  # the file a write touched, relative to the workspace
    exit_code: int | None = None  # shell only

    def entry(self, text: str) -> ResultEntry:
        """This call's result as the trajectory keeps it (``text``: what the student was shown)."""
        output = clip_middle(text, RESULT_CHARS_IN_TRAJECTORY)
        return {"name": self.name, "ok": self.ok, "output": output, "seconds": round(self.seconds, 4)}


def dropped_calls_note(dropped: int) -> str:
    """Appended to the last result of a turn that made more calls than are run."""
    return (
        f"\n[{dropped} more tool call(s) in this turn were dropped, not run: at most "
        f"{MAX_CALLS_PER_TURN} calls run per turn; make the rest in your next turn]"
    )


def _is_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


def file_read(ws: Workspace, args: ToolArgs) -> str:
    real = ws.resolve(args["path"], must_exist=True)
    if real.is_dir():
        raise ToolError(f"{args['path']}: is a directory; use glob to list it")
    size = real.stat().st_size
    with real.open("rb") as handle:
        data = handle.read(MAX_READ_BYTES)
    if _is_binary(data):
        raise ToolError(f"{args['path']}: binary file ({size} bytes); not shown")
    lines = data.decode("utf-8", errors="replace").splitlines()
    shown = lines[:MAX_READ_LINES]
    width = len(str(len(shown)))
    text = "\n".join(f"{i:>{width}}| {line}" for i, line in enumerate(shown, 1))
    if len(lines) > MAX_READ_LINES or size > MAX_READ_BYTES:
        text += f"\n[truncated: file has {size} bytes; showing the first {len(shown)} lines]"
    return text


def file_write(ws: Workspace, args: ToolArgs) -> str:
    content = args["content"]
    encoded = content.encode("utf-8", errors="replace")
    if len(encoded) > MAX_WRITE_BYTES:
        raise ToolError(f"content is {len(encoded)} bytes; the limit is {MAX_WRITE_BYTES}")
    real = ws.write_text(args["path"], content)
    return f"wrote {len(encoded)} bytes to {ws.relative(real)}"


def _too_large(path: str, size: int, limit: int) -> ToolError:
    return ToolError(f"{path}: file too large: {size} bytes, limit {limit}; use shell tools (head, sed) on it")


def file_edit(ws: Workspace, args: ToolArgs) -> str:
    real = ws.resolve(args["path"], must_exist=True)
    if not real.is_file():
        raise ToolError(f"{args['path']}: not a file")
    if (size := real.stat().st_size) > MAX_WRITE_BYTES:  # the edited file is written whole again
        raise _too_large(args["path"], size, MAX_WRITE_BYTES)
    text = real.read_text(encoding="utf-8", errors="replace")
    old, new = args["old"], args["new"]
    if not old:
        raise ToolError("'old' must not be empty; use file_write to create a file")
    count = text.count(old)
    if count == 0:
        raise ToolError(f"{args['path']}: 'old' text not found; file_read the file and copy it exactly")
    if count > 1:
        raise ToolError(f"{args['path']}: 'old' text occurs {count} times; include more context")
    ws.write_text(ws.relative(real), text.replace(old, new, 1))
    return f"edited {ws.relative(real)}"


def glob_tool(ws: Workspace, args: ToolArgs) -> str:
    pattern = args["pattern"]
    if pattern.startswith("/") or ".." in pattern.split("/"):
        raise ToolError("pattern must be relative to the project root, without '..'")
    hits = [p for p in iter_files(ws.root) if matches_any(p, [pattern])]
    listed = "\n".join(hits[:MAX_LISTED]) or "(no matches)"
    if len(hits) > MAX_LISTED:
        listed += f"\n[{len(hits) - MAX_LISTED} more]"
    return listed


def _searched(real: Path, rel: str, named: bool, skipped: list[str]) -> bytes | None:
    """The bytes grep searches in a file, never more than MAX_READ_BYTES; None for a file it skips
    (binary, or too large: noted in ``skipped``, or refused when the call ``named`` that file)."""
    if not real.is_file():
        return None
    if (size := real.stat().st_size) > MAX_READ_BYTES:  # never read whole: it may be gigabytes
        if named:
            raise _too_large(rel, size, MAX_READ_BYTES)
        skipped.append(f"[not searched: {rel}: file too large: {size} bytes, limit {MAX_READ_BYTES}]")
        return None
    with real.open("rb") as handle:
        data = handle.read(MAX_READ_BYTES)
    return None if _is_binary(data) else data


def grep_tool(ws: Workspace, args: ToolArgs) -> str:
    try:
        regex = re.compile(args["pattern"])
    except re.error as exc:
        raise ToolError(f"invalid regular expression: {exc}") from None
    start = ws.resolve(args.get("path") or ".", must_exist=True)
    files = (
        [ws.relative(start)]
        if start.is_file()
        else [f"{ws.relative(start)}/{p}".lstrip("./") if start != ws.root else p for p in iter_files(start)]
    )
    lines: list[str] = []
    skipped: list[str] = []
    for rel in files:
        try:
            real = ws.resolve(rel)
        except PathRefused:  # a link leading out of the project is listed, never read
            continue
        data = _searched(real, rel, start.is_file(), skipped)
        if data is None:
            continue
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if regex.search(line):
                lines.append(f"{rel}:{number}: {line[:300]}")
                if len(lines) >= MAX_LISTED:
                    return "\n".join(lines) + "\n[more matches not shown]"
    return "\n".join([*lines, *skipped[:20]]) or "(no matches)"


def shell_tool(ws: Workspace, args: ToolArgs) -> ToolOutcome:
    result = ws.run(args["command"], SHELL_TIMEOUT_S, SHELL_OUTPUT_CAP)
    if sandbox_fault(result) is not None:
        # The student's command prints what it likes: "bwrap: ..." proves nothing until the sandbox
        # fails to start an empty command too.
        probe = ws.run("true", SHELL_TIMEOUT_S)
        fault = sandbox_fault(probe)
        if fault is not None:
            raise HarnessFault(result.command, fault)
    return ToolOutcome("shell", result.ok, f"{result.describe()}\n{result.output}", exit_code=result.exit_code)


def finish_tool(_ws: Workspace, _args: ToolArgs) -> str:
    return "finished"


BUILTIN_TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("file_read", "read a file (with line numbers)", {"path": "file path"}, ("path",), file_read),
    ToolSpec(
        "file_write",
        "create or replace a whole file",
        {"path": "file path", "content": "the complete new file text"},
        ("path", "content"),
        file_write,
        writes=True,
    ),
    ToolSpec(
        "file_edit",
        "replace the single occurrence of `old` with `new` in a file",
        {"path": "file path", "old": "exact text to replace", "new": "replacement text"},
        ("path", "old", "new"),
        file_edit,
        writes=True,
    ),
    ToolSpec("glob", "list files matching a glob pattern", {"pattern": "e.g. src/**/*.rs"}, ("pattern",), glob_tool),
    ToolSpec(
        "grep",
        "search files for a regular expression",
        {"pattern": "regular expression", "path": "optional file or folder"},
        ("pattern",),
        grep_tool,
    ),
    ToolSpec(
        "shell",
        f"run a shell command in the project root (e.g. {prompt_examples().test_word})",
        {"command": "the command line"},
        ("command",),
        shell_tool,
    ),
    ToolSpec("finish", "declare the task done", {"summary": "optional: what you changed"}, (), finish_tool),
)


def call_schema(specs: Iterable[ToolSpec]) -> str:
    """JSON schema of one tool call among ``specs`` (for constrained decoding)."""
    schemas = [spec.json_schema() for spec in specs]
    return json.dumps({"oneOf": schemas} if len(schemas) > 1 else schemas[0])


class Toolbox:
    """The tools of one session, bound to its workspace."""

    def __init__(self, workspace: Workspace, extra: tuple[ToolSpec, ...] = ()) -> None:
        self.workspace = workspace
        self.specs: dict[str, ToolSpec] = {}
        for spec in (*BUILTIN_TOOLS, *extra):
            if spec.name in self.specs:
                raise ToolError(
                    f"two tools are named '{spec.name}' (a plugin's pytest_arena_tools "
                    "clashes with a built-in or another plugin); rename one"
                )
            self.specs[spec.name] = spec

    def call_schema(self) -> str:
        return call_schema(self.specs.values())

    def execute(self, name: str, args: object) -> ToolOutcome:
        started = time.monotonic()
        spec = self.specs.get(name)
        try:
            if spec is None:
                raise ToolError(f"unknown tool '{name}'; available: {', '.join(self.specs)}")
            checked = self._check_input(spec, args)
            output = spec.handler(self.workspace, checked)
            if isinstance(output, ToolOutcome):
                output.seconds = time.monotonic() - started
                return output
            path = self._written_path(spec, checked)
            return ToolOutcome(name, True, output, time.monotonic() - started, path=path)
        except HarnessFault:
            raise  # the harness's failure, not something to tell the student
        except (ToolError, PathRefused) as exc:
            return ToolOutcome(name, False, f"error: {exc}", time.monotonic() - started)
        except (OSError, UnicodeError) as exc:
            return ToolOutcome(name, False, f"error: {type(exc).__name__}: {exc}", time.monotonic() - started)
        except Exception as exc:  # a plugin tool's bug is reported to the student, not a crash of the item
            return ToolOutcome(
                name,
                False,
                f"error: tool {name} failed internally: {type(exc).__name__}: {exc}",
                time.monotonic() - started,
            )

    def _written_path(self, spec: ToolSpec, args: ToolArgs) -> str | None:
        path = args.get("path")
        if not spec.writes or not isinstance(path, str):
            return None
        return self.workspace.relative(self.workspace.resolve(path))

    @staticmethod
    def _check_input(spec: ToolSpec, args: object) -> ToolArgs:
        """The call's input as its handler gets it: the declared parameters that were given (a null
        is not given), every one a string. Keys the tool does not declare are left out."""
        signature = ", ".join(f"{p}: string" for p in spec.parameters)
        if not isinstance(args, dict):
            raise ToolError(f"tool {spec.name}: input must be a JSON object {{{signature}}}, got {type(args).__name__}")
        missing = [p for p in spec.required if args.get(p) is None]
        if missing:
            raise ToolError(f"tool {spec.name}: missing key(s) {', '.join(missing)}; expected {{{signature}}}")
        for key, value in args.items():
            if key in spec.parameters and value is not None and not isinstance(value, str):
                raise ToolError(
                    f"tool {spec.name}: '{key}' must be a string, got {type(value).__name__} ({json.dumps(value)[:80]})"
                )
        return {key: value for key, value in args.items() if key in spec.parameters and isinstance(value, str)}
