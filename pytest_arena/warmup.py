"""The warm-up phase: every selected fixture whose warm entries (engine/warm.py) or FAIL_TO_PASS
baseline (engine/baseline.py) are not cached yet gets them built, several fixtures at once, so that
a cold run's items do not each wait for their fixture's builds one fixture at a time.

- Which fixtures: those of the arena items left after ``-k``/``-m``, ``--arena-shard`` and
  ``--arena-resume``, each once however many students, seeds and dialects it has.
- When and where, in the process that owns the run:
  - without ``-n``, beside the items (:class:`Pipeline`): the fixtures are warmed in the items'
    order over a thread pool as wide as the usable cores, and an item waits only for its own
    fixture, so the items' sessions and oracles run while later fixtures build (a cold reference
    sweep's items would otherwise leave a core idle: one cargo at a time);
  - under xdist, the controller, on the first worker's collection, before anything is scheduled:
    the workers wait idle (no model loaded yet) instead of competing for the cores, and a worker
    could not wait for a build another process runs.
  The builds are subprocesses (cargo, pytest, ruff, mypy in the sandbox), so threads spread them
  as far as worker processes would.
- Shown by the progress line: the phase's own line under xdist, a ``warming k/N`` note on the
  items' line beside them.
- Keyed by content as before (fixture digest, baseline version digest), under
  ``$XDG_CACHE_HOME/pytest-arena``: a CI cache of that folder restores them. A fixture whose
  build leaves no artifacts (a few shell lines) has no entry to keep, so every run warms it again,
  as its items' first build did before.
- Only a speed-up: a fixture that cannot be warmed (a program missing, no sandbox, a failing
  build or baseline, a full disk) is left to its items, which meet the same failure as they did
  before this phase existed. ``--arena-cold`` skips the phase.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .engine.baseline import baseline_for, cached
from .engine.corpus import FixtureError, FixtureSpec, fixture_digest, load_fixture
from .engine.parallel import each_at_once
from .engine.sandbox import Sandbox
from .engine.warm import WarmCache
from .engine.workspace import temp_space_problem
from .items import WARM_KEY, ArenaItem, fixture_sandbox, missing_program
from .options import OPTIONS_KEY
from .progress import PROGRESS_KEY, is_arena_nodeid, warming_line
from .students.threads import usable_cores

if TYPE_CHECKING:
    from xdist.workermanage import WorkerController


@dataclass(frozen=True)
class Target:
    """One fixture to warm, with the sandbox its items run in."""

    spec: FixtureSpec
    digest: str
    sandbox: Sandbox


def needs_warming(target: Target, warm: WarmCache | None) -> bool:
    spec = target.spec
    entries = warm is not None and warm.missing(spec, target.digest)
    return entries or (spec.solution_dir.is_dir() and cached(spec) is None)


def warm_fixture(target: Target, warm: WarmCache | None) -> bool:
    """Builds what the fixture's items would build first (its warm entries, its baseline); False
    when something could not be had, which its items then meet themselves as before."""
    spec, sandbox = target.spec, target.sandbox
    if missing_program(spec) is not None or temp_space_problem(spec.repo_dir) is not None:
        return False  # the item stops at setup (HarnessError): nothing to build for it
    try:
        sandbox.check()
        if warm is not None:
            warm.artifacts(spec, target.digest, sandbox)
            warm.artifacts(spec, target.digest, sandbox, hidden=True)
        if spec.solution_dir.is_dir():
            baseline_for(spec, sandbox, warm=warm, digest=target.digest)
    except Exception:  # noqa: BLE001 -- a speed-up only: whatever failed here, the item meets again
        return False
    return True


def warm_all(targets: Sequence[Target], warm: WarmCache | None, jobs: int, on_done: Callable[[int, int], None]) -> int:
    """Warms the targets over ``jobs`` threads, ``on_done(done, failed)`` after each; the failed count."""
    failed = 0

    def ended(done: int, ok: bool) -> None:
        nonlocal failed
        failed += not ok
        on_done(done, failed)

    each_at_once(lambda target: warm_fixture(target, warm), targets, jobs, ended)
    return failed


class Pipeline:
    """The warm-up beside the items (no xdist): targets warmed in the items' order over ``jobs``
    threads; :meth:`wait` blocks an item until its own fixture is warmed (or left to it)."""

    def __init__(self, targets: Sequence[Target], warm: WarmCache, jobs: int) -> None:
        self.total, self.done, self.failed = len(targets), 0, 0
        self.began = time.monotonic()
        self.took = 0.0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="arena-warm")
        self._futures: dict[Path, Future[bool]] = {}
        for target in targets:
            future = self._pool.submit(warm_fixture, target, warm)
            future.add_done_callback(self._ended)
            self._futures[target.spec.directory] = future

    def _ended(self, future: Future[bool]) -> None:
        ok = not future.cancelled() and future.exception() is None and future.result()
        with self._lock:
            self.done += 1
            self.failed += not ok
            if self.done == self.total:
                self.took = time.monotonic() - self.began

    def wait(self, directory: Path) -> None:
        future = self._futures.get(directory)
        if future is not None:
            wait_for([future])

    def line(self) -> str:
        return warming_line(self.done, self.total, self.failed, self.took or time.monotonic() - self.began)

    def close(self) -> None:
        """Fixtures not started yet are dropped (an interrupted or stopped run); running builds,
        whose subprocesses got the same signal, are waited for."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class WarmUp:
    """The phase as a plugin, registered in the process that owns the run (not on xdist workers)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = False
        self.pipeline: Pipeline | None = None
        self._said_done = False

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        targets: dict[Path, Target] = {}
        for item in session.items:
            if isinstance(item, ArenaItem) and item.spec.directory not in targets:
                targets[item.spec.directory] = Target(item.spec, item.fixture_sha256, item.sandbox())
        todo = self._todo(list(targets.values()), warm := self.config.stash.setdefault(WARM_KEY, WarmCache()))
        if todo:
            self.pipeline = Pipeline(todo, warm, min(usable_cores(), len(todo)))
            progress = self.config.stash.get(PROGRESS_KEY, None)
            if progress is not None:
                progress.note(self.pipeline.line())

    @pytest.hookimpl(optionalhook=True, trylast=True)
    def pytest_xdist_node_collection_finished(self, node: WorkerController, ids: Sequence[str]) -> None:
        """xdist's controller collects nothing itself: the first worker's node ids name the fixtures
        (every worker collects the same ones); nothing is scheduled until this returns."""
        if self.started:
            return
        targets: dict[Path, Target] = {}
        for nodeid in ids:
            if is_arena_nodeid(nodeid):
                directory = (self.config.rootpath / nodeid.partition("::")[0]).parent
                if directory not in targets:
                    try:
                        spec = load_fixture(directory)
                        targets[directory] = Target(spec, fixture_digest(directory), fixture_sandbox(self.config, spec))
                    except FixtureError:
                        continue  # a collection error on the worker already
        warm = WarmCache()
        todo = self._todo(list(targets.values()), warm)
        if todo:
            self.run(todo, warm)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.pipeline is not None and isinstance(item, ArenaItem):
            self.pipeline.wait(item.spec.directory)
            self._show(self.pipeline, lines=False)

    def pytest_runtest_logfinish(self) -> None:
        """Between items (pytest's letters for one are written): the phase's last line, once."""
        if self.pipeline is not None:
            self._show(self.pipeline, lines=True)

    def pytest_sessionfinish(self) -> None:
        if self.pipeline is not None:
            self.pipeline.close()
            self._show(self.pipeline, lines=True)

    def _show(self, pipeline: Pipeline, *, lines: bool) -> None:
        """The pipeline's count on the items' status line while it runs; its last line once."""
        progress = self.config.stash.get(PROGRESS_KEY, None)
        if progress is None or self._said_done:
            return
        finished = pipeline.done == pipeline.total
        progress.beside(None if finished else pipeline.line())
        if finished and lines:
            self._said_done = True
            progress.note(pipeline.line())

    def _todo(self, targets: list[Target], warm: WarmCache) -> list[Target]:
        if self.started or self.config.option.collectonly or self.config.stash[OPTIONS_KEY].cold:
            return []
        self.started = True
        return [t for t in targets if needs_warming(t, warm)]

    def run(self, todo: list[Target], warm: WarmCache) -> None:
        """The phase ahead of the items (xdist's controller), on its own progress line."""
        progress = self.config.stash.get(PROGRESS_KEY, None)
        began = time.monotonic()

        def shown(done: int, failed: int) -> None:
            if progress is not None:
                progress.warming(done, len(todo), failed, time.monotonic() - began)

        shown(0, 0)
        warm_all(todo, warm, min(usable_cores(), len(todo)), shown)
