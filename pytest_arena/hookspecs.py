"""Hooks other plugins implement to add students, tools, compliance checks and languages.

Implement them in a ``conftest.py`` or in a plugin module pytest loads (an entry point in the
``pytest11`` group, or ``-p NAME``). The per-item hooks (tools, compliance, session finish) are
called through the item's own hook relay, so a ``conftest.py`` beside a sub-corpus scopes them to
the fixtures under its folder; ``pytest_arena_make_student`` and ``pytest_arena_languages`` are called once per process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .engine.corpus import FixtureSpec
    from .engine.languages import Language
    from .engine.oracle import ComplianceCheck
    from .engine.session import SessionResult
    from .engine.student import Student
    from .engine.tools import ToolSpec
    from .engine.workspace import Workspace


@pytest.hookspec(firstresult=True)
def pytest_arena_make_student(config: pytest.Config, spec: str) -> Student | None:
    """Build the student named by ``--arena-student SPEC``, or return None when the spec is not
    yours. The built-in schemes (``pytest_arena/students/schemes.py``) answer through this hook
    too, last.

    :param config: The pytest config object.
    :param spec: The student spec as given, e.g. ``"myscheme:model-a"``.

    Stops at first non-None result, see :ref:`firstresult`.

    Example::

        def pytest_arena_make_student(config, spec):
            if spec.startswith("echo:"):
                return EchoStudent(spec.removeprefix("echo:"))
            return None
    """


@pytest.hookspec
def pytest_arena_tools(config: pytest.Config, fixture: FixtureSpec) -> list[ToolSpec] | None:
    """Extra tools for sessions on ``fixture``; they appear in the system prompt and the
    constrained-decoding grammar, and their handlers receive the confined Workspace.

    :param config: The pytest config object.
    :param fixture: The fixture the session runs on (its ``meta.toml``).
    :returns: Tools to add, or None. The lists of every implementation are joined.

    Example::

        def pytest_arena_tools(config, fixture):
            return [ToolSpec("count_lines", "Count a file's lines.", {"path": "the file"}, ("path",), count_lines)]
    """


@pytest.hookspec
def pytest_arena_compliance(
    config: pytest.Config, fixture: FixtureSpec, workspace: Workspace
) -> list[ComplianceCheck] | None:
    """Extra compliance checks folded into the compound oracle; a failing check's name is
    reported in ``ComplianceFailed.check``.

    :param config: The pytest config object.
    :param fixture: The fixture the session runs on.
    :param workspace: The session's private, confined copy of the fixture.
    :returns: Checks to add, or None. The lists of every implementation are joined.

    Example::

        def pytest_arena_compliance(config, fixture, workspace):
            return [ComplianceCheck("no-todo", lambda ws, timeout_s: ws.run("! grep -rn TODO src", timeout_s))]
    """


@pytest.hookspec
def pytest_arena_session_finish(item: pytest.Item, result: SessionResult) -> None:
    """Called after every finished session, before the item's pass or fail is raised.

    :param item: The arena item (fixture x student x settings).
    :param result: The session's outcome, turns, usage and timings.

    Example::

        def pytest_arena_session_finish(item, result):
            print(item.nodeid, result.outcome.name)
    """


@pytest.hookspec
def pytest_arena_languages(config: pytest.Config) -> list[Language] | None:
    """Fixture languages to add to the built-in Rust and Python (``pytest_arena.Language``): the
    test_format parser, build and cache folders, toolchain variables, install hints, default
    editable paths and never-editable configuration files of one language. Called at configure
    time in every process, from plugins and the initial ``conftest.py`` files, before any fixture
    is loaded; a language with a built-in's name replaces it.

    :param config: The pytest config object.
    :returns: Languages to register, or None. The lists of every implementation are joined.

    Example (``examples/arena_bats_language`` is a worked one)::

        def pytest_arena_languages(config):
            return [Language("go", detect=lambda repo: (repo / "go.mod").is_file(),
                             default_editable=lambda repo: ["**/*.go"], parsers={"gotest": parse_go})]
    """
