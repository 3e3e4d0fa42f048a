"""Fixtures arena-synth planted (meta.toml's ``mutation``) as pytest sees them: their items carry the
``synth`` mark, and a synthesized corpus (a folder with arena-synth's manifest.json) is collected
only when asked for: ``-m`` naming ``synth``, or an --arena-root at or inside it. A corpus holding
one keeps its own item count and main job otherwise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .engine.corpus import FixtureSpec, is_synthesized_corpus

SYNTH = "synth"
MARKER = f"{SYNTH}: arena fixtures arena-synth planted a bug in (meta.toml's mutation); collected only with -m {SYNTH}"
_NAMED = re.compile(rf"\b{SYNTH}\b")


def fixture_marks(spec: FixtureSpec) -> list[pytest.MarkDecorator]:
    """The marks of a fixture's items: arena, its class, and synth for a synthesized fixture."""
    marks = [pytest.mark.arena, getattr(pytest.mark, spec.fixture_class)]
    if spec.mutation is not None:
        marks.append(getattr(pytest.mark, SYNTH))
    return marks


def asks_for_synth(config: pytest.Config) -> bool:
    """The -m expression names ``synth`` (``-m synth``, ``-m "synth and leetcode"``...)."""
    return bool(_NAMED.search(str(getattr(config.option, "markexpr", "") or "")))


def unasked_synthesized(folder: Path, config: pytest.Config, root: Path) -> bool:
    """True for a synthesized corpus this run did not ask for: ``-m`` does not name synth and the
    arena root is neither the folder nor inside it."""
    if not is_synthesized_corpus(folder) or asks_for_synth(config):
        return False
    corpus, wanted = folder.resolve(), root.resolve()
    return corpus != wanted and corpus not in wanted.parents
