"""A session's first turn as one function: the dialect chosen for the student, the config it
generates with, the system prompt and the task message. ``Session`` opens with it; benchmarks
replay it without a session, so there is one definition of what a student is first shown."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from .cleantree import policy
from .corpus import FixtureSpec
from .dialects.choose import choose
from .dialects.constrain import constrained_schema
from .dialects.speaker import Speaker
from .protocol import task_message
from .student import Message, Student, StudentConfig, StudentError
from .tools import ToolSpec
from .workspace import iter_files


@dataclass
class Opening:
    speaker: Speaker
    config: StudentConfig
    messages: list[Message]
    dialect: dict[str, str]  # DialectChoice.record(), with a note when no grammar could be built


def open_session(
    spec: FixtureSpec, root: Path, student: Student, config: StudentConfig, dialect: str, tools: Iterable[ToolSpec]
) -> Opening:
    """``root``: the workspace (or a fixture's repo/) whose files the task message lists; ``dialect``:
    as --arena-dialect. Raises StudentError for a dialect the student cannot speak."""
    tools = list(tools)
    # Only a session that would speak native asks a server whether it renders tools.
    asks = student.native_tools and dialect in ("native", "auto")
    blocked = student.native_tools_blocked() if asks else ""
    try:
        choice = choose(dialect, student.chat_template_text, student.native_tools, blocked)
    except ValueError as exc:
        raise StudentError(f"--arena-dialect {dialect}: {exc}") from None
    record = choice.record()
    speaker = Speaker(choice, tools)
    config = replace(
        config,
        max_tokens=min(config.max_tokens, spec.max_tokens),
        dialect=choice.name,
        tools=tuple(speaker.tools) if speaker.structured else (),
    )
    if config.constrained:
        schema = constrained_schema(choice.name, tools)
        if schema is None:  # forcing another dialect's format would measure the grammar, not the dialect
            record["dialect_grammar"] = f"not built: no grammar for the {choice.name} dialect"
        config = replace(config, constrained=schema is not None, tool_schema=schema or "")
    messages: list[Message] = [
        {"role": "system", "content": speaker.system_prompt()},
        {"role": "user", "content": task_message(spec.prompt, iter_files(root), policy(spec).describe())},
    ]
    return Opening(speaker, config, messages, record)
