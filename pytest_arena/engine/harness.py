"""Telling a command the harness could not run (a missing program, an interpreter that cannot
execute, a sandbox that did not start) from a command that ran and failed: the first is never the
student's fault (outcome HarnessError), the second is."""

from __future__ import annotations

import re

from .commands import CommandResult

NOT_FOUND, CANNOT_EXECUTE = 127, 126
# bubblewrap reports its own setup failures as "bwrap: ..." before running anything.
_SANDBOX_FAILED = re.compile(r"\Abwrap: ")
_CAUSE_LINE = re.compile(
    r"^.*(command not found|No such file or directory|cannot execute|Permission denied|bad interpreter).*$",
    re.MULTILINE,
)


# A tool's own crash, in the words the tool itself uses for it: never the student's doing.
_TOOL_CRASHES = (
    ("mypy", re.compile(r"^(?:[^\n]*: )?error: INTERNAL ERROR -- ", re.MULTILINE), 2),
    ("rustc", re.compile(r"^error: internal compiler error: ", re.MULTILINE), None),
    ("ruff", re.compile(r"^error: Ruff crashed", re.MULTILINE), None),
)
# Signals a crashing tool dies of (as bash reports them, 128 + n, or as a direct child, -n).
_CRASH_SIGNALS = frozenset({4, 6, 7, 11})  # SIGILL, SIGABRT, SIGBUS, SIGSEGV


def tool_crash(result: CommandResult) -> str | None:
    """Which tool crashed in ``result`` (mypy's INTERNAL ERROR, a rustc ICE, a ruff crash), or None."""
    for tool, pattern, code in _TOOL_CRASHES:
        failed = result.exit_code not in (0, None) and (code is None or result.exit_code == code)
        if failed and (match := pattern.search(result.output)):
            return f"{tool} crashed ({match.group(0).strip()[:200]})"
    return None


def crashed(result: CommandResult) -> bool:
    """A tool crash, or a death by a crash signal: worth one cold re-run on a warm start (where
    stale or corrupted caches can make a tool crash); only :func:`tool_crash` is a harness fault."""
    code = result.exit_code
    signal_crash = code is not None and (-code in _CRASH_SIGNALS or code - 128 in _CRASH_SIGNALS)
    return signal_crash or tool_crash(result) is not None


def _cause(output: str) -> str:
    match = _CAUSE_LINE.search(output)
    return match.group(0).strip()[:300] if match else output.strip().splitlines()[0][:300] if output.strip() else ""


def harness_fault(result: CommandResult) -> str | None:
    """Why ``result`` is the harness's failure, or None when the command ran (pass or fail)."""
    if result.timed_out:
        return None
    said = _cause(result.output)
    if _SANDBOX_FAILED.match(result.output) and result.exit_code not in (0, None):
        return f"`{result.command}`: the sandbox failed to start ({said}); check bubblewrap or use --arena-sandbox none"
    if (crash := tool_crash(result)) is not None:
        return f"`{result.command}`: {crash}; a bug of the tool, not of the code it checked (report it upstream)"
    if result.exit_code == NOT_FOUND:
        return (
            f"`{result.command}` ended with exit code 127: a program it runs was not found inside the sandbox "
            f"({said or 'no output'}); install it, put it on PATH, or fix the command"
        )
    if result.exit_code == CANNOT_EXECUTE:
        return (
            f"`{result.command}` ended with exit code 126: a program could not be executed "
            f"({said or 'no output'}); check its permissions and its interpreter (shebang)"
        )
    return None


class HarnessFault(Exception):
    """Raised where a command the harness needed could not run; the session ends as HarnessError."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(message)
        self.command, self.message = command, message


def sandbox_fault(result: CommandResult) -> str | None:
    """Only the sandbox's own failure: a student's command that names a missing program (exit 127)
    is the student's mistake, fed back to it like any other failing command."""
    fault = harness_fault(result)
    return fault if fault is not None and _SANDBOX_FAILED.match(result.output) else None


def first_fault(results: list[CommandResult]) -> HarnessFault | None:
    for result in results:
        fault = harness_fault(result)
        if fault is not None:
            return HarnessFault(result.command, fault)
    return None
