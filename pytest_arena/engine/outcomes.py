"""The outcome taxonomy (DESIGN.md section 6) as typed records, and how pytest shows each."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Outcome:
    status_word: ClassVar[str] = "FAILED"
    letter: ClassVar[str] = "F"
    passed: ClassVar[bool] = False

    @property
    def name(self) -> str:
        return type(self).__name__

    def fields(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        details = ", ".join(f"{k}={v!r}" for k, v in self.fields().items())
        return f"{self.name}({details})" if details else self.name


@dataclass(frozen=True)
class DriverError(Outcome):
    status_word: ClassVar[str] = "DRIVER_ERROR"
    letter: ClassVar[str] = "D"
    message: str
    turn: int


@dataclass(frozen=True)
class HarnessError(Outcome):
    """The harness could not run its own command (oracle, compliance, sandbox): never the student's
    fault, so left out of pass rates like DriverError."""

    status_word: ClassVar[str] = "HARNESS_ERROR"
    letter: ClassVar[str] = "H"
    command: str
    message: str


@dataclass(frozen=True)
class WallTimeout(Outcome):
    status_word: ClassVar[str] = "WALLTIMEOUT"
    letter: ClassVar[str] = "W"
    elapsed_s: float
    turn: int


@dataclass(frozen=True)
class ContextExhausted(Outcome):
    """The history outgrew the model's context: the student's verbosity, counted in pass rates."""

    status_word: ClassVar[str] = "CONTEXT_EXHAUSTED"
    letter: ClassVar[str] = "X"
    turn: int
    prompt_tokens: int
    n_ctx: int


@dataclass(frozen=True)
class ComplianceTrap(Outcome):
    status_word: ClassVar[str] = "TRAP"
    letter: ClassVar[str] = "T"
    file: str
    last_reason: str
    consecutive_count: int


@dataclass(frozen=True)
class AgentTextLoop(Outcome):
    status_word: ClassVar[str] = "TEXTLOOP"
    letter: ClassVar[str] = "L"
    consecutive_text_turns: int
    last_text_excerpt: str


@dataclass(frozen=True)
class OraclePassed(Outcome):
    status_word: ClassVar[str] = "PASSED"
    letter: ClassVar[str] = "."
    passed: ClassVar[bool] = True


@dataclass(frozen=True)
class ComplianceFailed(Outcome):
    status_word: ClassVar[str] = "NONCOMPLIANT"
    letter: ClassVar[str] = "C"
    check: str
    turn: int


@dataclass(frozen=True)
class OracleFailedAfterMaxTurns(Outcome):
    status_word: ClassVar[str] = "MAXTURNS"
    letter: ClassVar[str] = "M"
    turns: int


@dataclass(frozen=True)
class OracleFailed(Outcome):
    status_word: ClassVar[str] = "ORACLE_FAILED"
    letter: ClassVar[str] = "F"
    turns: int


# DESIGN.md section 6 order: the first that applies decides.
ORDER: tuple[type[Outcome], ...] = (
    DriverError,
    HarnessError,
    WallTimeout,
    ContextExhausted,
    ComplianceTrap,
    AgentTextLoop,
    OraclePassed,
    ComplianceFailed,
    OracleFailedAfterMaxTurns,
    OracleFailed,
)
BY_NAME: dict[str, type[Outcome]] = {cls.__name__: cls for cls in ORDER}
# Backend and harness failures: reported beside accuracy, never counted in pass rates.
NOT_COUNTED = frozenset({"DriverError", "HarnessError"})
