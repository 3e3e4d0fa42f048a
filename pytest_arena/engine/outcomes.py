"""The outcome taxonomy (DESIGN.md section 6) as typed records. How pytest shows each is the glue's
business (pytest_arena/outcome_display.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, dataclass_transform


@dataclass_transform(frozen_default=True)
@dataclass(frozen=True)
class Outcome:
    """Every subclass is a frozen dataclass of the outcome's fields (declared once, here)."""

    passed: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclass(frozen=True)(cls)

    @property
    def name(self) -> str:
        return type(self).__name__

    def fields(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        details = ", ".join(f"{k}={v!r}" for k, v in self.fields().items())
        return f"{self.name}({details})" if details else self.name


class DriverError(Outcome):
    """The backend failed: load, crash, native crash probe, a turn's timeout. Not counted in pass rates."""

    message: str
    turn: int


class HarnessError(Outcome):
    """The harness could not run its own command (oracle, compliance, sandbox): never the student's
    fault, so left out of pass rates like DriverError."""

    command: str
    message: str


class WallTimeout(Outcome):
    """The session's wall-clock budget ran out."""

    elapsed_s: float
    turn: int


class ContextExhausted(Outcome):
    """The history outgrew the model's context: the student's verbosity, counted in pass rates."""

    turn: int
    prompt_tokens: int
    n_ctx: int


class ComplianceTrap(Outcome):
    """The same content of one file failed the per-turn compliance check N times in a row."""

    file: str
    last_reason: str
    consecutive_count: int


class AgentTextLoop(Outcome):
    """N turns in a row without a tool call: prose or Markdown code blocks instead of calls."""

    consecutive_text_turns: int
    last_text_excerpt: str


class TamperDetected(Outcome):
    """The student's own tree passes, the clean tree (pristine fixture plus only the changes to
    editable paths) does not: changes the oracle drops decided the verdict. A failure, shown apart
    as a tamper attempt."""

    kind: str  # build script, runner config, toolchain config, lint config, interpreter hook, test files, other
    evidence: str


class OraclePassed(Outcome):
    """On the clean tree the tests exit 0, their output matches the expected pattern, every
    FAIL_TO_PASS test is reported passed and no PASS_TO_PASS test broken, and compliance exits 0
    with no suppression the student added."""

    passed: ClassVar[bool] = True


class ComplianceFailed(Outcome):
    """The tests pass but the compliance check (lints, complexity, unwrap policy) fails."""

    check: str
    turn: int


class OracleFailedAfterMaxTurns(Outcome):
    """The turn budget ran out and the tests still fail."""

    turns: int


class OracleFailed(Outcome):
    """The student called finish and the tests fail."""

    turns: int


# DESIGN.md section 6 order, for display (tables, legends): the session decides an outcome where it
# happens, not by walking this list.
ORDER: tuple[type[Outcome], ...] = (
    DriverError,
    HarnessError,
    WallTimeout,
    ContextExhausted,
    ComplianceTrap,
    AgentTextLoop,
    TamperDetected,
    OraclePassed,
    ComplianceFailed,
    OracleFailedAfterMaxTurns,
    OracleFailed,
)
BY_NAME: dict[str, type[Outcome]] = {cls.__name__: cls for cls in ORDER}
# Backend and harness failures: reported beside accuracy, never counted in pass rates.
NOT_COUNTED = frozenset({"DriverError", "HarnessError"})
