"""The cheap first look at a mutant, in one scratch copy of the source whose build stays warm:
does it build, does some test fail, does it still pass compliance. Only the mutants that pass
are written as fixtures and proven (:mod:`pytest_arena.synth.plant`)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.oracle import fixture_compliance, run_compliance, run_tests
from ..engine.sandbox import Sandbox
from ..engine.testresults import FAILED, PASSED
from ..engine.workspace import Workspace
from .mutants import Mutant
from .source import Source, SynthError

# Why a mutant is not a fixture: the closing tally's words.
NO_BUILD = "does not build"
TIMEOUT = "tests time out (an endless loop)"
SURVIVED = "no test fails (the mutant survives)"
NONCOMPLIANT = "fails compliance"
DUPLICATE = "duplicate (same function, same failing tests)"
UNPROVEN = "not proven"


@dataclass
class Screened:
    mutant: Mutant
    reject: str | None = None
    failing: tuple[str, ...] = ()
    output: str = ""  # the mutant's test output: the prompt is written from its failures
    detail: str = ""
    results: dict[str, str] = field(default_factory=dict)


class Scratch:
    """One workspace holding the source; each mutant is written, judged and undone in it."""

    def __init__(self, source: Source, sandbox: Sandbox) -> None:
        self.source = source
        self.ws = Workspace(source.spec.repo_dir, source.spec.protected, prefix="synth-", sandbox=sandbox)
        self.originals = {rel: (self.ws.root / rel).read_bytes() for rel in source.files}
        self.timeout = source.spec.oracle_timeout_s
        self.spec = source.spec
        self.clock = int(time.time())

    def close(self) -> None:
        self.ws.cleanup()

    def check_pristine(self) -> float:
        """The source must pass its own tests and compliance; returns the tests' seconds."""
        result, evidence = run_tests(self.source.spec, self.ws, None)
        if not result.ok or not any(s == PASSED for s in evidence.results.values()):
            raise SynthError(
                f"{self.source.path}: its tests do not pass ({result.describe()}), so no mutant can be proven. "
                f"Fix: make `{self.source.spec.oracle_cmd}` pass first:\n{result.tail(1500)}"
            )
        checks = run_compliance(self.ws, fixture_compliance(self.source.spec), self.timeout)
        failed = next((r for r in checks if not r.passed), None)
        if failed is not None:
            raise SynthError(
                f"{self.source.path}: fails its compliance ({failed.result.describe()}); every mutant would too. "
                f"Fix: make it pass, or give --compliance:\n{failed.result.tail(1500)}"
            )
        # A mutant that loops forever is cut well before the fixture's own timeout.
        self.timeout = min(self.source.spec.oracle_timeout_s, max(10.0, 10 * result.seconds))
        self.spec = self.source.spec.model_copy(update={"oracle_timeout_s": self.timeout})
        return result.seconds

    def _write(self, path: Path, content: bytes) -> None:
        """Each write gets an mtime a whole second past the last one: mypy's cache (and Python's
        bytecode, where it is written) trust a file whose size and mtime in whole seconds are
        unchanged, and a mutant such as 1 -> 2 keeps the size."""
        path.write_bytes(content)
        self.clock = max(self.clock + 1, int(time.time()) + 1)
        os.utime(path, (self.clock, self.clock))

    def screen(self, mutant: Mutant) -> Screened:
        path = self.ws.root / mutant.file
        original = self.originals[mutant.file]
        self._write(path, mutant.apply(original))
        try:
            return self._judge(mutant)
        finally:
            self._write(path, original)

    def _judge(self, mutant: Mutant) -> Screened:
        spec = self.spec
        result, found = run_tests(spec, self.ws, None)
        if result.timed_out:
            return Screened(mutant, TIMEOUT)
        evidence = dict(found.results)
        failing = tuple(sorted(n for n, s in evidence.items() if s == FAILED))
        if not evidence:
            return Screened(mutant, NO_BUILD, detail=result.tail(300))
        if result.ok or not failing:
            return Screened(mutant, SURVIVED)
        checks = run_compliance(self.ws, fixture_compliance(spec), self.timeout)
        failed = next((c for c in checks if not c.passed), None)
        if failed is not None:
            return Screened(mutant, NONCOMPLIANT, failing, detail=failed.result.tail(300))
        return Screened(mutant, None, failing, result.output, results=evidence)
