"""A synthesized fixture's prompt.md: the failing behaviour, told from the failing tests' names
and assertion messages. It never names the mutation, its file or its line: panic locations
outside the tests are cut from the messages."""

from __future__ import annotations

import re

SHOWN_TESTS = 6
MESSAGE_LINES = 6
_CONTRACT = {
    "rust": "Keep the code clippy-clean and `cargo fmt`-clean (no `unwrap`/`expect`/`panic` in library code).",
    "python": "Keep `ruff check`, `ruff format --check` and `mypy --strict` clean.",
}
_RUN = {"rust": "cargo test", "python": "python -m pytest"}
_LOCATION = re.compile(r"panicked at (?P<file>[^:\s]+):\d+:\d+:")


def _rust_messages(output: str) -> dict[str, list[str]]:
    messages: dict[str, list[str]] = {}
    for match in re.finditer(r"^---- (\S+) stdout ----\n(.*?)(?=^---- |^failures:|\Z)", output, re.M | re.S):
        lines = []
        for line in match.group(2).splitlines():
            if not line.strip() or line.startswith("note: run with"):
                continue
            located = _LOCATION.search(line)
            if located and not located.group("file").startswith("tests/"):
                line = _LOCATION.sub("panicked in the library code:", line)
            lines.append(line.rstrip())
        messages[match.group(1)] = lines
    return messages


def _python_messages(output: str) -> dict[str, list[str]]:
    messages: dict[str, list[str]] = {}
    for match in re.finditer(r"^_{3,} (\S+) _{3,}\n(.*?)(?=^_{3,} |^=+ |\Z)", output, re.M | re.S):
        errors = [line[1:].strip() for line in match.group(2).splitlines() if line.startswith("E ")]
        messages[match.group(1)] = [e for e in errors if e]
    return messages


def _messages_for(name: str, messages: dict[str, list[str]]) -> list[str]:
    short = name.rsplit("::", 1)[-1].split(".")[-1]
    for key in (name, name.split("::", 1)[-1], short):
        if key in messages:
            return messages[key][:MESSAGE_LINES]
    for key, lines in messages.items():
        if key.endswith(short):
            return lines[:MESSAGE_LINES]
    return []


def write_prompt(project: str, language: str, failing: tuple[str, ...], output: str) -> str:
    messages = _rust_messages(output) if language == "rust" else _python_messages(output)
    count = len(failing)
    lines = [
        f"# {count} test{'s' if count > 1 else ''} of `{project}` fail{'' if count > 1 else 's'}",
        "",
        f"The project's tests passed before a recent change to its code. Now `{_RUN[language]}` reports "
        f"{'these failures' if count > 1 else 'this failure'}:",
        "",
    ]
    for name in failing[:SHOWN_TESTS]:
        lines.append(f"- `{name}`")
        shown = _messages_for(name, messages)
        if shown:
            lines += ["", "  ```text", *(f"  {m}" for m in shown), "  ```", ""]
    if count > SHOWN_TESTS:
        lines.append(f"- and {count - SHOWN_TESTS} more.")
    lines += [
        "",
        "The tests describe the intended behaviour: do not change them. Find the bug in the code and fix it "
        "so that the whole test suite passes. " + _CONTRACT[language],
        "",
    ]
    return "\n".join(lines)
