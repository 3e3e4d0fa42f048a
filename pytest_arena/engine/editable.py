"""What a student may change: a fixture's ``editable`` globs (or its language's default) minus the
files that configure how the tree is built, tested and linted, which never reach the oracle's
clean tree whatever a fixture says (DESIGN.md sections 4 and 9)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .languages import language_of, never_editable
from .workspace import matches_any

# Tamper kinds in the order a dropped change is named by: the first kind whose globs (each
# language's ``never_editable``) match.
KIND_ORDER = ("build script", "toolchain config", "runner config", "lint config", "interpreter hook")
TEST_FILES = "test files"
# A tamper attempt is named by the most telling kind among its dropped changes.
TAMPER_ORDER = ("build script", "runner config", "toolchain config", "interpreter hook", "lint config", TEST_FILES)
OTHER = "other"


def default_editable(repo: Path) -> list[str]:
    """The editable globs of a fixture whose meta.toml sets none: its language's default (Rust:
    ``src/**``; Python: its packages, else its modules), read from the pristine tree."""
    return language_of(repo).default_editable(repo)


def never_kind(relative: str) -> str | None:
    """The kind of build, runner or lint configuration a path is, which no fixture makes editable."""
    for kind, globs in never_editable(KIND_ORDER):
        if matches_any(relative, list(globs)):
            return kind
    return None


@dataclass(frozen=True)
class EditPolicy:
    editable: tuple[str, ...]
    protected: tuple[str, ...] = ()

    @classmethod
    def of(cls, editable: list[str] | None, protected: list[str], repo: Path) -> EditPolicy:
        globs = editable if editable is not None else default_editable(repo)
        return cls(tuple(globs), tuple(protected))

    def refusal(self, relative: str) -> str | None:
        """Why a change to this path never reaches the oracle; None when it does."""
        kind = never_kind(relative)
        if kind is not None:
            return f"{relative} is {kind}, which the oracle always takes from the fixture"
        if matches_any(relative, list(self.protected)):
            return f"{relative} is protected (the fixture's tests and configuration)"
        if not matches_any(relative, list(self.editable)):
            return f"{relative} is outside the editable paths ({', '.join(self.editable) or 'none'})"
        return None

    def allows(self, relative: str) -> bool:
        return self.refusal(relative) is None

    def kind(self, relative: str) -> str:
        """What kind of tampering a dropped change to this path is."""
        return never_kind(relative) or (TEST_FILES if matches_any(relative, list(self.protected)) else OTHER)

    def tamper_kind(self, dropped: list[str]) -> str:
        kinds = {self.kind(path) for path in dropped}
        return next((kind for kind in TAMPER_ORDER if kind in kinds), OTHER)

    def describe(self) -> str:
        """The editable paths as the task text tells the student."""
        return ", ".join(self.editable) if self.editable else "(none)"
