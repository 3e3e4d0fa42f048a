"""Whether a harness fault seen on the student's tree is the harness's own.

The student's code decides how the oracle's commands exit and what they print: an exit code of 127
or a tool's crash banner there proves nothing by itself, and a run that ends as HarnessError leaves
the pass rate. So such a fault stands only when the same commands fail the same way on the
reference solution's clean tree, judged now; otherwise the student's code caused it, and that is
the student's failure."""

from __future__ import annotations

from collections.abc import Sequence

from .cleantree import judge_clean
from .corpus import FixtureSpec
from .harness import HarnessFault, first_fault
from .oracle import ComplianceCheck, Verdict
from .sandbox import Sandbox
from .warm import WarmCache


def verdict_fault(verdict: Verdict) -> HarnessFault | None:
    return first_fault([verdict.tests, *(c.result for c in verdict.compliance)])


def harness_own(
    spec: FixtureSpec,
    sandbox: Sandbox,
    checks: Sequence[ComplianceCheck],
    *,
    warm: WarmCache | None = None,
    digest: str = "",
) -> HarnessFault | None:
    """The fault the reference solution's clean tree shows now (the harness's), or None."""
    overlay = spec.solution_dir if spec.solution_dir.is_dir() else None
    verdict, _ = judge_clean(spec, sandbox, checks, overlay=overlay, warm=warm, digest=digest)
    return verdict_fault(verdict)
