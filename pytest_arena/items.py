"""Fixtures as pytest collectors and items: one item per fixture x student x temperature x seed."""

from __future__ import annotations

import json
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import TerminalRepr, TracebackStyle

from .engine.baseline import measure
from .engine.cleantree import policy
from .engine.commands import toolchain_env
from .engine.corpus import FixtureError, FixtureSpec, fixture_digest, load_fixture
from .engine.languages import install_hint
from .engine.oracle import fixture_compliance
from .engine.outcomes import NOT_COUNTED, DriverError, HarnessError, Outcome
from .engine.sandbox import Limits, Sandbox, SandboxUnavailable, masked_paths
from .engine.session import Session, SessionResult, SessionSettings, Turn
from .engine.student import Student, StudentConfig, StudentError
from .engine.tools import Toolbox
from .engine.warm import WarmCache
from .engine.workspace import Workspace, temp_space_problem
from .failure_text import failure_repr
from .options import OPTIONS_KEY, ArenaOptions, resume_settings
from .outcome_display import SHOWN
from .progress import PROGRESS_KEY, TURN_LINES, turn_line
from .recorder import REPORTS_UNWRITABLE
from .results.item_id import ItemId
from .results.record import ItemFacts, ItemRecord
from .results.resume import ResumeKey, settings_digest
from .results.trajectory import Trajectory, save_trajectory, trajectory_name
from .results.trajectory_transit import pack
from .students.builtin import static_info, student_labels
from .students.pool import StudentPool
from .students.response_cache import ResponseCache
from .synth_collect import fixture_marks
from .turn_marker import forget, note_turn
from .xdist_role import is_worker

POOL_KEY = pytest.StashKey[StudentPool]()


def group_name(student: str, fixture: str) -> str:
    """The worker group of a student's item: its items on one fixture (seeds, temperatures,
    dialects). Groups are small so that xdist hands them out as workers free up: a fixed split of
    a sweep into one group per worker left one worker idle for the last items of the other
    (14 against 16 items in the main job). The scheduler keeps a worker on its student's groups
    while any are left (xdist_schedule), so each worker still loads each model about once. Also the
    ``xdist_group`` marker's name, for xdist and users' hooks: the arena's scheduler derives the
    same group from the node id, which is all the controller sees."""
    return f"{student}-{fixture}"


def student_pool(config: pytest.Config) -> StudentPool:
    """This process's student pool, made on first use: the arena's items and the
    ``arena_student_pool`` fixture (for users' own tests) share it, so a model loads once."""
    pool = config.stash.get(POOL_KEY, None)
    if pool is None:
        options = config.stash.get(OPTIONS_KEY, None)
        cache = ResponseCache() if options is not None and options.cache else None
        pool = StudentPool(lambda spec: config.hook.pytest_arena_make_student(config=config, spec=spec), cache)
        config.stash[POOL_KEY] = pool
    return pool


WARM_KEY = pytest.StashKey[WarmCache]()
RUN_DIR_KEY = pytest.StashKey[Path]()  # reports/<run-id>: where this process writes trajectories


def fixture_sandbox(config: pytest.Config, spec: FixtureSpec) -> Sandbox:
    """The sandbox a fixture's items (and its warm-up) run commands in."""
    opts = config.stash[OPTIONS_KEY]
    hidden = masked_paths(Path(config.rootpath), opts.root, opts.reports, spec.directory)
    # One file may not outgrow the whole workspace's quota either.
    limits = Limits(file_size=min(Limits().file_size, opts.workspace_quota or Limits().file_size))
    return Sandbox(kind=opts.sandbox, hidden=hidden, limits=limits)


class ArenaFailure(Exception):
    """An item whose outcome is not OraclePassed; its text reads like a failed assertion."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class ArenaSetupError(Exception):
    """An item that cannot start (its student cannot load); one line, no traceback."""


@dataclass(frozen=True)
class Variant:
    student_spec: str
    student: str  # the student's label, unique within the campaign
    temperature: float
    seed: int
    dialect: str = "auto"
    dialect_in_id: bool = False  # only a dialect sweep names the dialect: single-dialect ids stay as they were

    @property
    def label(self) -> str:
        dialect = self.dialect if self.dialect_in_id else ""
        return ItemId("", self.student, self.temperature, self.seed, dialect).variant


class ArenaFile(pytest.File):
    """A fixture's ``meta.toml``: a broken one is a collection error for this fixture only."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            spec = load_fixture(self.path.parent)
            digest = fixture_digest(spec.directory)
        except FixtureError as exc:
            raise self.CollectError(str(exc)) from None
        options: ArenaOptions = self.config.stash[OPTIONS_KEY]
        register_class_marker(self.config, spec.fixture_class)
        labels = student_labels(options.students)
        for student in options.students:
            for temperature in options.temperatures:
                for seed in options.seeds:
                    for dialect in options.dialects:
                        variant = Variant(
                            student, labels[student], temperature, seed, dialect, len(options.dialects) > 1
                        )
                        yield ArenaItem.from_parent(
                            self, name=f"{spec.id}[{variant.label}]", spec=spec, variant=variant, fixture_sha256=digest
                        )


class ArenaItem(pytest.Item):
    def __init__(self, *, spec: FixtureSpec, variant: Variant, fixture_sha256: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec, self.variant, self.fixture_sha256 = spec, variant, fixture_sha256
        self.student: Student | None = None
        self.session_result: SessionResult | None = None
        self.packed_trajectory = ""  # on an xdist worker: sent with the report (trajectory_transit)
        self._turn_lines: list[str] = []  # per-turn progress lines no terminal here could show
        for mark in fixture_marks(spec):  # arena, the fixture's class, synth for an arena-synth fixture
            self.add_marker(mark)
        if is_worker(self.config):
            self.add_marker(pytest.mark.xdist_group(group_name(variant.student, spec.id)))
        # `-k two_sum` should find leetcode__01-two-sum: ids use '-', Python words use '_'.
        self.extra_keyword_matches.add(spec.id.replace("-", "_"))

    @property
    def options(self) -> ArenaOptions:
        return self.config.stash[OPTIONS_KEY]

    def sandbox(self) -> Sandbox:
        return fixture_sandbox(self.config, self.spec)

    def _setup_problem(self) -> Outcome | None:
        """Why this item cannot start, checked in order of cost; None when it can. A program or
        sandbox the harness lacks is a HarnessError, a student that cannot load a DriverError."""
        problem = missing_program(self.spec) or temp_space_problem(self.spec.repo_dir)
        if problem is not None:
            return HarnessError(command=self.spec.oracle_cmd, message=problem)
        try:
            self.sandbox().check()
        except SandboxUnavailable as exc:
            return HarnessError(command="bwrap", message=str(exc))
        try:
            self.student = student_pool(self.config).get(self.variant.student_spec)
        except StudentError as exc:
            return DriverError(message=f"student '{self.variant.student_spec}' cannot run: {exc}", turn=0)
        return None

    def setup(self) -> None:
        problem = self._setup_problem()
        if problem is not None:
            # Recorded like any outcome, so reports, gates and session_finish observers see it.
            self._finish(SessionResult(outcome=problem), self._settings().config)
            message = problem.fields()["message"]
            raise ArenaSetupError(message)

    @property
    def resume_key(self) -> ResumeKey:
        settings = self._settings()
        keyed = settings.config.record() | resume_settings(self.effective_settings(settings), self.options)
        return self.name, self.fixture_sha256, settings_digest(keyed)

    def effective_settings(self, settings: SessionSettings) -> dict[str, object]:
        """The settings options change (options.Option.result) whose value this item decides or names
        otherwise than ArenaOptions does; resume_settings takes the rest from the options."""
        return {
            "student": self.variant.student_spec,
            **settings.config.record(),
            "max_turns": settings.max_turns or self.spec.max_turns,
            "enforced": settings.compliance_enforced,
            "dialect": settings.dialect,
        }

    def _settings(self) -> SessionSettings:
        opts = self.options
        config = StudentConfig(
            temperature=self.variant.temperature,
            seed=self.variant.seed,
            constrained=opts.constrain,
            max_tokens=opts.max_tokens or self.spec.max_tokens,
            turn_timeout_s=opts.turn_timeout_s,
            repetition_stop=opts.repetition_stop,
            tool_choice=opts.tool_choice,
        )
        return SessionSettings(
            config=config,
            max_turns=opts.max_turns,
            text_loop_limit=opts.text_loop_limit,
            compliance_enforced=opts.compliance_enforced,
            dialect=self.variant.dialect,
        )

    def runtest(self) -> None:
        assert self.student is not None
        settings = self._settings()
        ws = self._workspace()
        try:
            result = self._run(ws, settings, self.student)
        except Exception as exc:
            # A harness or plugin bug still leaves a record of this item (and a traceback).
            self._finish(
                SessionResult(outcome=DriverError(message=f"harness error: {type(exc).__name__}: {exc}", turn=0)),
                settings.config,
            )
            raise
        finally:
            self._release(ws)
        self._finish(result, settings.config)
        if self._turn_lines:
            self.user_properties.append((TURN_LINES, json.dumps(self._turn_lines)))
        if not result.outcome.passed:
            raise ArenaFailure(self._failure_text(result))

    def _workspace(self) -> Workspace:
        return Workspace(
            self.spec.repo_dir,
            self.spec.protected,
            prefix=f"arena-{self.spec.id}-",
            sandbox=self.sandbox(),
            quota=self.options.workspace_quota,
            refuse=policy(self.spec).refusal,
        )

    def _warm(self) -> WarmCache | None:
        return None if self.options.cold else self.config.stash.setdefault(WARM_KEY, WarmCache())

    def _run(self, ws: Workspace, settings: SessionSettings, student: Student) -> SessionResult:
        """The session, then the tests it fixed and broke against the baseline."""
        warm = self._warm()
        if warm is not None:
            ws.before_first_command = lambda: warm.seed(self.spec, self.fixture_sha256, ws)
        result = self._session(ws, settings, student, warm).run()
        if result.outcome.name not in NOT_COUNTED:
            result.tests = measure(
                self.spec, ws, result.verdict, bool(result.files_touched), warm=warm, digest=self.fixture_sha256
            )
        return result

    def _session(self, ws: Workspace, settings: SessionSettings, student: Student, warm: WarmCache | None) -> Session:
        """The item's session, with the tools and compliance checks plugins add."""
        hook = self.ihook
        extra_tools = tuple(
            t for tools in hook.pytest_arena_tools(config=self.config, fixture=self.spec) if tools for t in tools
        )
        checks = fixture_compliance(self.spec) + [
            c
            for found in hook.pytest_arena_compliance(config=self.config, fixture=self.spec, workspace=ws)
            if found
            for c in found
        ]
        session = Session(
            self.spec, ws, student, settings, Toolbox(ws, extra_tools), checks,
            warm=warm, digest=self.fixture_sha256,
        )  # fmt: skip
        run_dir = self.config.stash.get(RUN_DIR_KEY, None)
        if run_dir is not None:
            session.on_turn_start = lambda turn: note_turn(run_dir, self.name, turn)
        session.on_turn = self._turn_ended
        return session

    def _release(self, ws: Workspace) -> None:
        if self.options.keep_workspaces:
            print(f"workspace kept: {ws.root}")
            ws.keep()
        else:
            ws.cleanup()
        run_dir = self.config.stash.get(RUN_DIR_KEY, None)
        if run_dir is not None:
            forget(run_dir, self.name)

    def _turn_ended(self, turn: Turn, max_turns: int) -> None:
        line = turn_line(self.name, turn.index, max_turns, turn)
        progress = self.config.stash.get(PROGRESS_KEY, None)
        if progress is not None:
            progress.turn(self.name, line)
        elif self.config.get_verbosity() > 0:  # an xdist worker: the controller prints them
            self._turn_lines.append(line)

    def _finish(self, result: SessionResult, config: StudentConfig) -> None:
        self.session_result = result
        self._record(result, config)
        self.add_marker(pytest.mark.arena_outcome(result.outcome.name))
        self.ihook.pytest_arena_session_finish(item=self, result=result)

    def _record(self, result: SessionResult, config: StudentConfig) -> None:
        run_dir = self.config.stash.get(RUN_DIR_KEY, None)
        record = ItemRecord.from_session(self._facts(config, run_dir), result)
        problem = None
        if run_dir is not None and is_worker(self.config):  # the controller writes it (trajectory_transit)
            record.trajectory = trajectory_name(self.name)
            self.packed_trajectory = pack(Trajectory.of(record, result))
        elif run_dir is not None:
            problem = save_trajectory(run_dir, self.name, record, result)
        if problem is not None:  # the record still goes out; the run stops after this item
            self.user_properties.append((REPORTS_UNWRITABLE, problem))
            self.session.shouldstop = problem
        self.user_properties.extend(record.to_properties())

    def _facts(self, config: StudentConfig, run_dir: Path | None) -> ItemFacts:
        student = self.student
        return ItemFacts(
            item=self.name,
            run_id=run_dir.name if run_dir is not None else "",
            spec=self.spec,
            student=self.variant.student,
            student_spec=self.variant.student_spec,
            dialect=self.variant.dialect,
            fixture_sha256=self.fixture_sha256,
            settings_sha256=self.resume_key[2],
            sandbox=self.options.sandbox,
            config=config,
            student_info=student.describe()
            if student is not None
            else static_info(self.config, self.variant.student_spec),
            root=self.config.rootpath,
            shard=self.options.shard.text if self.options.shard is not None else "",
        )

    def _failure_text(self, result: SessionResult) -> str:
        outcome = result.outcome
        lines = [f"arena outcome {SHOWN[outcome.name][1]}: {outcome.summary()}"]
        if result.verdict is not None and not result.verdict.passed:
            lines.append(result.verdict.explain())
        elif result.turns:
            last = result.turns[-1]
            lines.append(f"last turn ({last.index}) said: {last.text[:600]!r}")
        if result.restored:
            lines.append(f"protected files restored before the oracle: {', '.join(result.restored)}")
        if result.dropped:
            lines.append(f"changes the oracle's clean tree left out: {'; '.join(result.dropped)}")
        return "\n".join(lines)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: TracebackStyle | None = None
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, (ArenaFailure, ArenaSetupError)):
            return failure_repr(str(excinfo.value), self.path)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"arena {self.spec.id} [{self.variant.label}]"


SHELL_WORDS = frozenset({"cd", "export", "set", "source", ".", "exec", "if", "for", "while", "(", "{", "!"})


def missing_program(spec: FixtureSpec) -> str | None:
    """The oracle's program, looked up before any student time is spent on the fixture."""
    try:
        words = shlex.split(spec.oracle_cmd, posix=True)
    except ValueError:
        words = spec.oracle_cmd.split()
    program = words[0] if words else ""
    if (
        not program
        or program in SHELL_WORDS
        or "=" in program
        or shutil.which(program, path=toolchain_env()["PATH"]) is not None
    ):
        return None
    hint = install_hint(program) or f"install '{program}' or fix oracle_cmd"
    return f"{spec.directory / 'meta.toml'}: key 'oracle_cmd': program '{program}' not found on PATH. Fix: {hint}"


def register_class_marker(config: pytest.Config, fixture_class: str) -> None:
    """Every class becomes a marker before any of its items exists, so `-m <class>` works with
    --strict-markers and no unknown-mark warning appears, whatever words a corpus uses."""
    known = {line.split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}
    if fixture_class not in known:
        config.addinivalue_line("markers", f"{fixture_class}: arena fixtures of class {fixture_class}")
