"""pytest-arena: benchmarks local coding-agent models on executable fixtures.

The names below are the API for plugin authors (new students, tools, compliance checks,
languages; see ``pytest_arena/hookspecs.py``). Importing them loads the engine only: no pytest
glue, no matplotlib.
"""

from .engine.commands import CommandResult
from .engine.corpus import FixtureSpec
from .engine.languages import Language, PromptExamples
from .engine.oracle import ComplianceCheck
from .engine.protocol import ToolCall
from .engine.session import SessionResult
from .engine.student import GenerationResult, Student, StudentBase, StudentConfig, StudentError
from .engine.tools import ToolError, ToolOutcome, ToolSpec
from .engine.workspace import Workspace

__all__ = [
    "CommandResult",
    "ComplianceCheck",
    "FixtureSpec",
    "GenerationResult",
    "Language",
    "PromptExamples",
    "SessionResult",
    "Student",
    "StudentBase",
    "StudentConfig",
    "StudentError",
    "ToolCall",
    "ToolError",
    "ToolOutcome",
    "ToolSpec",
    "Workspace",
]
