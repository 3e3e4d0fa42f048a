"""Languages added by plugins (hook ``pytest_arena_languages``), registered for one pytest run:
in every process (xdist workers too) before any fixture is loaded, removed when the run ends."""

from __future__ import annotations

import pytest

from .engine.languages import Language, register, unregister

_ADDED = pytest.StashKey[tuple[str, ...]]()


def add_plugin_languages(config: pytest.Config) -> None:
    answers: list[list[Language] | None] = config.hook.pytest_arena_languages(config=config)
    languages = [language for answer in answers for language in answer or ()]
    for language in languages:
        register(language)
    config.stash[_ADDED] = tuple(language.name for language in languages)


def remove_plugin_languages(config: pytest.Config) -> None:
    """An in-process run (pytester) leaves the next run the built-in languages only."""
    for name in config.stash.get(_ADDED, ()):
        unregister(name)
