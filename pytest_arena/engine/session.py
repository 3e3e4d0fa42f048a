"""The agent loop: turns, tool execution, the detectors, then the compound oracle."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypedDict

from . import outcomes as oc
from .baseline import known_baseline
from .cleantree import CleanTree, judge_clean, policy
from .corpus import FixtureSpec
from .dialects.speaker import Speaker
from .fault_proof import harness_own, verdict_fault
from .harness import HarnessFault, first_fault
from .opening import open_session
from .oracle import CheckResult, ComplianceCheck, Verdict, judge, run_compliance, suppression_check
from .protocol import MAX_PARSED_CHARS, ToolCall, clean_chat_output
from .student import (
    ContextExhausted,
    FinishReason,
    Message,
    Student,
    StudentConfig,
    StudentError,
    cut_short,
    with_capabilities,
)
from .suppressions import added as added_suppressions
from .testresults import TestCounts
from .tools import MAX_CALLS_PER_TURN, ResultEntry, Toolbox, ToolOutcome, dropped_calls_note
from .turn_timeout import generate_within
from .warm import WarmCache
from .workspace import Workspace


@dataclass(frozen=True)
class SessionSettings:
    config: StudentConfig = field(default_factory=StudentConfig)
    max_turns: int | None = None  # None: the fixture's own budget
    wall_timeout_s: float | None = None
    text_loop_limit: int = 4  # 0 disables the detector
    compliance_enforced: bool = False
    trap_limit: int = 3
    dialect: str = "auto"  # --arena-dialect: auto, a dialect name, or native


class CallEntry(TypedDict):
    """A parsed call as a Turn keeps it."""

    name: str
    input: object
    salvaged: bool


@dataclass
class Turn:
    index: int
    prompt_delta: list[Message]
    raw_text: str
    text: str
    calls: list[CallEntry]
    results: list[ResultEntry]
    finish_reason: FinishReason
    prompt_tokens: int
    prefill_tokens: int
    completion_tokens: int
    generation_s: float
    tools_s: float
    unparsed_chars: int = 0  # characters past the parser's window (MAX_PARSED_CHARS), never read
    stop_detail: str = ""  # why the backend stopped early, e.g. where the degeneration stop cut
    dropped_calls: int = 0  # calls past MAX_CALLS_PER_TURN, never run (the student is told)
    cached: bool = False  # the response cache answered this turn (--arena-cache)


@dataclass
class SessionResult:
    outcome: oc.Outcome
    turns: list[Turn] = field(default_factory=list)
    verdict: Verdict | None = None
    text_turns: int = 0
    strict_calls: int = 0
    salvaged_calls: int = 0
    generation_s: float = 0.0
    tools_s: float = 0.0
    oracle_s: float = 0.0
    wall_s: float = 0.0
    files_touched: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # changes the clean tree left out, "path (why)"
    dropped_paths: list[str] = field(default_factory=list)
    suppressions: list[str] = field(default_factory=list)  # added by the student, "path:line: kind text"
    suppressed_at: list[str] = field(default_factory=list)  # the same as "path:line kind"
    own_verdict: Verdict | None = None  # the student's own tree, judged when it could have been tampering
    diff: str = ""
    shell_failed: bool = False
    truncated_turns: int = 0
    tests: TestCounts | None = None  # FAIL_TO_PASS / PASS_TO_PASS, filled in by whoever knows the baseline
    dialect: dict[str, str] = field(default_factory=dict)  # DialectChoice.record()
    rendered_prompt: str = ""  # the exact prompt text of turn 1
    well_formed_turns: int = 0  # turns with at least one parsed call (strict or salvaged)
    native_calls: int = 0  # calls a server returned as tool_calls
    content_fallback_calls: int = 0  # calls parsed from content although tools were sent natively
    cache_hits: int = 0  # turns the response cache answered instead of the model

    @property
    def recovery_observed(self) -> bool:
        return self.outcome.passed and self.shell_failed

    def tokens(self) -> dict[str, int]:
        return {
            "prompt": sum(t.prompt_tokens for t in self.turns),
            "prefill": sum(t.prefill_tokens for t in self.turns),
            "completion": sum(t.completion_tokens for t in self.turns),
        }


class _TrapWatch:
    """Counts consecutive compliance failures of the same (file, content)."""

    def __init__(self) -> None:
        self.key: tuple[str, str] | None = None
        self.count = 0

    def failed(self, path: str, digest: str) -> int:
        key = (path, digest)
        self.count = self.count + 1 if key == self.key else 1
        self.key = key
        return self.count

    def passed(self) -> None:
        self.key, self.count = None, 0


class Session:
    def __init__(
        self,
        spec: FixtureSpec,
        workspace: Workspace,
        student: Student,
        settings: SessionSettings,
        toolbox: Toolbox,
        checks: Sequence[ComplianceCheck],
        *,
        warm: WarmCache | None = None,
        digest: str = "",
    ) -> None:
        self.spec, self.ws, self.student, self.settings = spec, workspace, with_capabilities(student), settings
        self.toolbox, self.checks = toolbox, checks
        self.warm, self.digest = warm, digest  # the oracle's clean tree starts from this warm build
        self.result = SessionResult(outcome=oc.OracleFailed(turns=0))
        self.trap = _TrapWatch()
        self.max_turns = settings.max_turns or spec.max_turns
        self._delta_start = 0  # first message of the history not yet shown in a turn record
        self.wall_budget = settings.wall_timeout_s or spec.wall_timeout_s
        self.on_turn_start: Callable[[int], None] | None = None  # told each turn's number as it starts
        self.on_turn: Callable[[Turn, int], None] | None = None  # (turn, max_turns), once it has ended
        self.speaker: Speaker | None = None

    def run(self) -> SessionResult:
        started = time.monotonic()
        self.ws.deadline = started + self.wall_budget  # every command of a turn stops at the wall budget
        try:
            early, turns_used, finished = self._loop()
            self.ws.deadline = None  # the oracle is not the student's time
            result = self.result
            result.files_touched = self.ws.changed_files()
            result.restored = self.ws.restore_protected()
            self.ws.freshen(result.files_touched)
            if early is not None:
                result.outcome = early
            else:
                oracle_started = time.monotonic()
                result.outcome = self._oracle(turns_used, finished)
                result.oracle_s = time.monotonic() - oracle_started
            result.diff = self.ws.diff()
        except HarnessFault as fault:  # the oracle's clean tree found no room (a full TMPDIR)
            self.result.outcome = oc.HarnessError(command=fault.command, message=fault.message)
        finally:
            self.result.wall_s = time.monotonic() - started
        return self.result

    def _oracle(self, turns: int, finished: bool) -> oc.Outcome:
        """The compound oracle on the clean tree; when it fails and changes were dropped, the
        student's own tree too: passing there, the dropped changes decided, and that is tampering."""
        result, spec = self.result, self.spec
        verdict, tree = judge_clean(
            spec,
            self.ws.sandbox,
            self.checks,
            student=self.ws,
            warm=self.warm,
            digest=self.digest,
            baseline=known_baseline(spec, self.ws.sandbox, warm=self.warm, digest=self.digest),
        )
        result.dropped, result.dropped_paths = tree.dropped, tree.dropped_paths
        result.suppressions = [str(s) for s in tree.suppressions]
        result.suppressed_at = [f"{s.path}:{s.line} {s.kind}" for s in tree.suppressions]
        result.verdict = verdict
        if verdict_fault(verdict) is not None and (fault := self._harness_own()) is not None:
            return oc.HarnessError(command=fault.command, message=fault.message)
        if not verdict.passed and tree.dropped:
            tampered = self._tampering(tree, verdict)
            if tampered is not None:
                return tampered
        return self._decide(verdict, turns, finished)

    def _tampering(self, tree: CleanTree, verdict: Verdict) -> oc.Outcome | None:
        own = judge(self.spec, self.ws, self.checks)
        self.result.own_verdict = own
        if not own.passed or verdict_fault(own) is not None:
            return None
        kind = policy(self.spec).tamper_kind(tree.dropped_paths)
        evidence = (
            f"the student's own tree passes; the clean tree fails on {verdict.failed_clause} "
            f"without these changes: {'; '.join(tree.dropped[:10])}"
        )
        return oc.TamperDetected(kind=kind, evidence=evidence[:2000])

    def _harness_own(self) -> HarnessFault | None:
        """A fault on the student's tree is the harness's only if the reference shows it too."""
        return harness_own(self.spec, self.ws.sandbox, self.checks, warm=self.warm, digest=self.digest)

    @staticmethod
    def _decide(verdict: Verdict, turns: int, finished: bool) -> oc.Outcome:
        if verdict.passed:
            return oc.OraclePassed()
        failed = verdict.failed_compliance
        if verdict.tests_passed and failed is not None:
            return oc.ComplianceFailed(check=failed.name, turn=turns)
        return oc.OracleFailed(turns=turns) if finished else oc.OracleFailedAfterMaxTurns(turns=turns)

    def _opening(self) -> tuple[StudentConfig, list[Message]]:
        settings = self.settings
        opening = open_session(
            self.spec, self.ws.root, self.student, settings.config, settings.dialect, self.toolbox.specs.values()
        )
        self.speaker, self.result.dialect = opening.speaker, opening.dialect
        return opening.config, opening.messages

    def _out_of_time(self, turn: int) -> oc.Outcome | None:
        late = time.monotonic() - (self.ws.deadline or float("inf"))
        return oc.WallTimeout(elapsed_s=round(self.wall_budget + late, 3), turn=turn) if late > 0 else None

    def _loop(self) -> tuple[oc.Outcome | None, int, bool]:
        """Runs turns; returns (an outcome that ended the session early, turns used, finished)."""
        try:
            config, messages = self._opening()
            self.student.start(self.spec, config)
        except StudentError as exc:
            return oc.DriverError(message=str(exc), turn=0), 0, False
        consecutive_text = 0
        for index in range(1, self.max_turns + 1):
            if timeout := self._out_of_time(index):
                return timeout, index - 1, False
            attempt = self._attempt(index, messages, config)
            if isinstance(attempt, oc.Outcome):
                return attempt, index, False
            turn, calls = attempt
            if not calls:
                self._ended(turn)
                consecutive_text += 1
                limit = self.settings.text_loop_limit
                if limit and consecutive_text >= limit:
                    return oc.AgentTextLoop(consecutive_text, turn.text[:200]), index, False
                assert self.speaker is not None
                messages.append({"role": "user", "content": self.speaker.nudge(turn.text)})
                continue
            consecutive_text = 0
            early, finished = self._act(turn, calls, messages)
            self._ended(turn)
            if early is not None or finished:
                return early, index, finished
            if timeout := self._out_of_time(index):
                return timeout, index, False
        return None, self.max_turns, False

    def _attempt(
        self, index: int, messages: list[Message], config: StudentConfig
    ) -> tuple[Turn, list[ToolCall]] | oc.Outcome:
        """One turn, or the outcome its backend failure ends the session with."""
        if self.on_turn_start is not None:
            self.on_turn_start(index)
        try:
            return self._turn(index, messages, config)
        except ContextExhausted as exc:
            return oc.ContextExhausted(turn=index, prompt_tokens=exc.prompt_tokens, n_ctx=exc.n_ctx)
        except StudentError as exc:
            return oc.DriverError(message=str(exc), turn=index)

    def _ended(self, turn: Turn) -> None:
        if self.on_turn is not None:
            self.on_turn(turn, self.max_turns)

    def _turn(self, index: int, messages: list[Message], config: StudentConfig) -> tuple[Turn, list[ToolCall]]:
        """One generation, parsed and recorded; the assistant's text joins the history."""
        delta = messages[self._delta_start :]
        generation = generate_within(self.student, messages, config)
        text = clean_chat_output(generation.text)
        assert self.speaker is not None
        calls, kind = self.speaker.parse(index, text, generation.tool_calls)
        dropped, calls = max(0, len(calls) - MAX_CALLS_PER_TURN), calls[:MAX_CALLS_PER_TURN]
        if index == 1:
            self.result.rendered_prompt = generation.prompt_text or _plain_prompt(messages)
        turn = Turn(
            index, delta, generation.text, text,
            [{"name": c.name, "input": c.input, "salvaged": c.salvaged} for c in calls], [],
            generation.finish_reason, generation.prompt_tokens, generation.prefill_tokens,
            generation.completion_tokens, generation.seconds, 0.0,
        )  # fmt: skip
        turn.unparsed_chars = max(0, len(text) - MAX_PARSED_CHARS)
        # where the degeneration stop cut, or the call a server could not parse (a text turn)
        detail = generation.extra.get("repetition") or generation.extra.get("malformed_call") or ""
        turn.stop_detail, turn.dropped_calls = str(detail), dropped
        turn.cached = generation.cached
        self.result.cache_hits += generation.cached
        self._account(turn, calls)
        self.result.text_turns += not calls
        self.result.well_formed_turns += bool(calls)
        self.result.native_calls += len(calls) if kind == "native" else 0
        self.result.content_fallback_calls += len(calls) if kind == "content_fallback" else 0
        messages.append(self.speaker.assistant_message(text, calls, kind == "native"))
        self._delta_start = len(messages)
        return turn, calls

    def _account(self, turn: Turn, calls: list[ToolCall]) -> None:
        result = self.result
        result.turns.append(turn)
        result.generation_s += turn.generation_s
        result.strict_calls += sum(not c.salvaged for c in calls)
        result.salvaged_calls += sum(c.salvaged for c in calls)
        result.truncated_turns += cut_short(turn.finish_reason)

    def _act(self, turn: Turn, calls: list[ToolCall], messages: list[Message]) -> tuple[oc.Outcome | None, bool]:
        try:
            return self._act_on(turn, calls, messages)
        except HarnessFault as fault:  # a sandbox that did not start is not the student's doing
            return oc.HarnessError(command=fault.command, message=fault.message), False

    def _act_on(self, turn: Turn, calls: list[ToolCall], messages: list[Message]) -> tuple[oc.Outcome | None, bool]:
        rendered: list[tuple[ToolCall, str]] = []
        trap: oc.Outcome | None = None
        finished = False
        for position, call in enumerate(calls, 1):
            if call.name == "finish":
                finished = True
                break
            if trap := self._out_of_time(turn.index):  # checked per call: one turn may run many commands
                break
            outcome = self.toolbox.execute(call.name, call.input)
            text = outcome.output
            if position == len(calls) and turn.dropped_calls:
                text += dropped_calls_note(turn.dropped_calls)
            if outcome.exit_code not in (None, 0):
                self.result.shell_failed = True
            if self.settings.compliance_enforced and outcome.ok and outcome.path:
                text, trap = self._gate(outcome, text)
            turn.tools_s += outcome.seconds
            turn.results.append(outcome.entry(text))
            rendered.append((call, text))
            if trap is not None:
                break
        self.result.tools_s += turn.tools_s
        assert self.speaker is not None
        self.speaker.add_results(messages, rendered)
        return trap, finished

    def _gate(self, outcome: ToolOutcome, text: str) -> tuple[str, oc.Outcome | None]:
        """Per-turn compliance after a write: appended to the result; a repeated failure traps."""
        assert outcome.path is not None
        started = time.monotonic()
        # The oracle refuses suppressions the student adds: say so at the write, not at the end.
        found = [str(s) for s in added_suppressions(self.spec.repo_dir, self.ws.root, [outcome.path])]
        checks: list[CheckResult] = (
            [suppression_check(found)] if found else run_compliance(self.ws, self.checks, self.spec.oracle_timeout_s)
        )
        outcome.seconds += time.monotonic() - started
        if first_fault([c.result for c in checks]) is not None and (fault := self._harness_own()) is not None:
            raise fault
        failed = next((c for c in checks if not c.passed), None)
        if failed is None:
            self.trap.passed()
            return text, None
        reason = failed.result.tail(1500)
        digest = hashlib.sha256((self.ws.root / outcome.path).read_bytes()).hexdigest()
        count = self.trap.failed(outcome.path, digest)
        text += f"\ncompliance_failed: {failed.name} ({failed.result.describe()})\n{reason}"
        if count >= self.settings.trap_limit:
            return text, oc.ComplianceTrap(file=outcome.path, last_reason=reason[-500:], consecutive_count=count)
        return text, None


def _plain_prompt(messages: list[Message]) -> str:
    """What a student that renders no template of its own was shown (scripted students)."""
    return "\n\n".join(f"[{m['role']}]\n{m.get('content') or ''}" for m in messages)
