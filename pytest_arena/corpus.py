"""Public name of the fixture loader (DESIGN section 8); the corpus lives in the engine."""

from .engine.corpus import FixtureSpec as FixtureSpec
from .engine.corpus import load_fixture as load_fixture
