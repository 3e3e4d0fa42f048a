"""A worked example of a fixture language added by a plugin: shell projects tested with bats.

The arena's corpus is Rust and Python (``pytest_arena/engine/builtin_languages.py``). A third
language is one :class:`pytest_arena.Language`, returned from the ``pytest_arena_languages`` hook
(``pytest_arena/hookspecs.py``) by any module pytest loads as a plugin. Nothing in the arena
changes. This one says:

* a project is a bats project when it holds ``*.bats`` files under ``test/`` (``detect``);
* meta.toml may say ``test_format = "tap"``: the per-test FAIL_TO_PASS / PASS_TO_PASS lines are
  read from ``bats --tap`` output by :func:`parse_tap` (``ok 3 name`` / ``not ok 4 name``);
* what a student may change when meta.toml sets no ``editable``: the project's shell scripts,
  tests excepted (:func:`shell_editable`);
* ``setup_suite.bash`` configures the runner: the oracle always takes it from the fixture;
* the install hint shown when ``bats`` is missing.

A bats project has no build output, caches or toolchain home, so those fields keep their empty
defaults; a Go language would name ``GOPATH``/``GOCACHE`` in ``tool_homes`` and its ``go.mod``
in ``never_editable``. ``fixtures/unix__01-slugify`` beside this module is one fixture in it.

Loading it (bats installed: ``apt-get install bats``, ``./run setup`` does it)::

    PYTHONPATH=examples/arena_bats_language pytest -p arena_bats_language --arena \
        --arena-root examples/arena_bats_language/fixtures --arena-student reference
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_arena import Language

_TAP = re.compile(r"^(not ok|ok) \d+ (.*?)(?: # (skip|SKIP|todo|TODO)\b.*)?$", re.MULTILINE)
_STATUS = {"ok": "passed", "not ok": "failed"}
_TEST_DIRS = ("test", "tests")


def parse_tap(output: str) -> dict[str, str]:
    """Test name -> passed | failed | skipped, from TAP lines. Named by description, not number:
    a test added before another must not rename it."""
    results: dict[str, str] = {}
    for match in _TAP.finditer(output):
        verdict, name, directive = match.groups()
        status = "skipped" if directive else _STATUS[verdict]  # a skip or todo directive: not run
        if results.get(name) != "failed":  # a name reported twice keeps its worst status
            results[name] = status
    return results


def is_bats_project(repo: Path) -> bool:
    return any(any((repo / folder).glob("*.bats")) for folder in _TEST_DIRS)


def shell_editable(repo: Path) -> list[str]:
    """Every shell script of the pristine tree outside its test folders."""
    scripts = [*repo.rglob("*.sh"), *repo.rglob("*.bash")]
    return sorted(
        path.relative_to(repo).as_posix()
        for path in scripts
        if path.is_file() and path.relative_to(repo).parts[0] not in _TEST_DIRS
    )


BATS = Language(
    "bats",
    detect=is_bats_project,
    default_editable=shell_editable,
    parsers={"tap": parse_tap},
    install_hints={"bats": "install bats (apt-get install bats; ./run setup does it)"},
    never_editable={"runner config": ("**/setup_suite.bash",)},
)


def pytest_arena_languages(config: pytest.Config) -> list[Language]:
    return [BATS]
