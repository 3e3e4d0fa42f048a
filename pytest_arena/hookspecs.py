"""Hooks other plugins implement to add students, tools and compliance checks (pluggy, via pytest)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .engine.corpus import FixtureSpec
    from .engine.oracle import ComplianceCheck
    from .engine.session import SessionResult
    from .engine.student import Student
    from .engine.tools import ToolSpec
    from .engine.workspace import Workspace

hookspec = pluggy.HookspecMarker("pytest")


@hookspec(firstresult=True)
def pytest_arena_make_student(config: Any, spec: str) -> Student | None:
    """Build the student named by ``--arena-student SPEC`` (e.g. ``myscheme:...``), or return None
    when the spec is not yours. Built-in schemes are implemented through this same hook."""


@hookspec
def pytest_arena_tools(config: Any, fixture: FixtureSpec) -> list[ToolSpec] | None:
    """Extra tools for sessions on ``fixture``; they appear in the system prompt and the
    constrained-decoding grammar, and their handlers receive the confined Workspace."""


@hookspec
def pytest_arena_compliance(config: Any, fixture: FixtureSpec, workspace: Workspace) -> list[ComplianceCheck] | None:
    """Extra compliance checks folded into the compound oracle; a failing check's name is
    reported in ``ComplianceFailed.check``."""


@hookspec
def pytest_arena_session_finish(item: Any, result: SessionResult) -> None:
    """Called after every finished session (before the item's pass/fail is raised)."""
