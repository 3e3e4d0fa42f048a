"""The warm-up phase: before the first session, every selected fixture whose warm entries
(engine/warm.py) or FAIL_TO_PASS baseline (engine/baseline.py) are not cached yet gets them built,
several fixtures at once, so that a cold run's items do not each wait for their fixture's builds
one fixture at a time.

- Which fixtures: those of the arena items left after ``-k``/``-m``, ``--arena-shard`` and
  ``--arena-resume``, each once however many students, seeds and dialects it has.
- Where: in the process that owns the run, before any item is handed out: without ``-n`` in
  ``pytest_collection_finish``; under xdist the controller, on the first worker's collection, so
  the workers wait idle (no model loaded yet) instead of competing for the cores. The builds are
  subprocesses (cargo, pytest, ruff, mypy in the sandbox), so a thread pool as wide as the usable
  cores spreads them as far as worker processes would, and one progress line can count them.
- Keyed by content as before (fixture digest, baseline version digest), under
  ``$XDG_CACHE_HOME/pytest-arena``: a CI cache of that folder restores them. A fixture whose
  build leaves no artifacts (a few shell lines) has no entry to keep, so every run warms it again,
  as its items' first build did before.
- Only a speed-up: a fixture that cannot be warmed (a program missing, no sandbox, a failing
  build or baseline, a full disk) is left to its items, which meet the same failure as they did
  before this phase existed. ``--arena-cold`` skips the phase.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
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
from .progress import PROGRESS_KEY, is_arena_nodeid
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
            baseline_for(spec, sandbox)
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


class WarmUp:
    """The phase as a plugin, registered in the process that owns the run (not on xdist workers)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = False

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        targets: dict[Path, Target] = {}
        for item in session.items:
            if isinstance(item, ArenaItem) and item.spec.directory not in targets:
                targets[item.spec.directory] = Target(item.spec, item.fixture_sha256, item.sandbox())
        self.run(list(targets.values()), self.config.stash.setdefault(WARM_KEY, WarmCache()))

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
        self.run(list(targets.values()), WarmCache())

    def run(self, targets: list[Target], warm: WarmCache) -> None:
        if self.started or self.config.option.collectonly or self.config.stash[OPTIONS_KEY].cold:
            return
        self.started = True
        todo = [t for t in targets if needs_warming(t, warm)]
        if not todo:
            return
        progress = self.config.stash.get(PROGRESS_KEY, None)
        began = time.monotonic()

        def shown(done: int, failed: int) -> None:
            if progress is not None:
                progress.warming(done, len(todo), failed, time.monotonic() - began)

        shown(0, 0)
        warm_all(todo, warm, min(usable_cores(), len(todo)), shown)
