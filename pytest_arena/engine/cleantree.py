"""The tree the oracle judges: a fresh copy of the fixture's ``repo/`` plus its ``hidden/`` tests,
the pristine build's artifacts (never the student's ``target/``), and only the student's changes
to editable paths. Every other change (a ``build.rs``, a ``pytest.ini``, a ``.cargo/config.toml``,
a rewritten test) is dropped and named, so nothing the student configures can decide the verdict
(DESIGN.md section 9)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .corpus import FixtureSpec
from .editable import EditPolicy
from .evidence import EVIDENCE_DIR
from .harness import crashed
from .oracle import ComplianceCheck, Verdict, judge
from .sandbox import Sandbox
from .suppressions import Suppression, added
from .testresults import Baseline
from .warm import WarmCache
from .workspace import Workspace, read_regular

T = TypeVar("T")
MAX_APPLIED_BYTES = 16 * 1024 * 1024  # per file: bigger than any source file a fixture needs


@dataclass
class CleanTree:
    ws: Workspace
    evidence: Path  # harness-owned folder outside the tree: the runner's JUnit file goes here
    applied: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # "path (why)" for the record and item page
    dropped_paths: list[str] = field(default_factory=list)
    suppressions: list[Suppression] = field(default_factory=list)  # added by the student


def policy(spec: FixtureSpec) -> EditPolicy:
    return EditPolicy.of(spec.editable, spec.protected, spec.repo_dir)


@contextlib.contextmanager
def clean_tree(
    spec: FixtureSpec,
    sandbox: Sandbox,
    student: Workspace | None = None,
    *,
    warm: WarmCache | None = None,
    digest: str = "",
    overlay: Path | None = None,
) -> Iterator[CleanTree]:
    """A clean tree for the oracle, removed afterwards. ``student``: take that workspace's changes
    to editable paths; ``overlay``: lay a fixture folder over it whole (solution/, for baselines)."""
    ws = Workspace(spec.repo_dir, [], prefix=f"oracle-{spec.id}-", sandbox=sandbox)
    try:
        ws.lay_over(spec.hidden_dir, keep_mtimes=True)
        if warm is not None and digest:
            warm.seed(spec, digest, ws, hidden=True)
        evidence = ws.base / EVIDENCE_DIR
        evidence.mkdir()
        tree = CleanTree(ws, evidence)
        if overlay is not None:
            tree.applied += ws.lay_over(overlay, keep_mtimes=False)
        if student is not None:
            _apply(spec, student, tree)
        ws.freshen(tree.applied)
        yield tree
    finally:
        ws.cleanup()


def judge_clean(
    spec: FixtureSpec,
    sandbox: Sandbox,
    checks: Sequence[ComplianceCheck],
    *,
    student: Workspace | None = None,
    overlay: Path | None = None,
    warm: WarmCache | None = None,
    digest: str = "",
    baseline: Baseline | None = None,
) -> tuple[Verdict, CleanTree]:
    """The compound oracle on a clean tree (see clean_tree), with the suppression scan and the
    per-test clause; the tree itself is gone afterwards, what was applied and dropped is kept.
    A tool that crashes on a warm start is judged again cold, its warm entry dropped: a corrupted
    cache must not decide a verdict (a crash that persists cold is a harness fault, see harness)."""

    def attempt(seeded: WarmCache | None) -> tuple[Verdict, CleanTree]:
        with clean_tree(spec, sandbox, student, warm=seeded, digest=digest, overlay=overlay) as tree:
            tree.suppressions = added(spec.repo_dir, tree.ws.root, tree.applied)
            found = [str(s) for s in tree.suppressions]
            verdict = judge(spec, tree.ws, checks, evidence_dir=tree.evidence, baseline=baseline, added=found)
        return verdict, tree

    return warm_then_cold(spec, warm, digest, attempt, lambda judged: _crashed(judged[0]))


def warm_then_cold(
    spec: FixtureSpec,
    warm: WarmCache | None,
    digest: str,
    attempt: Callable[[WarmCache | None], T],
    crashed_on: Callable[[T], bool],
) -> T:
    """``attempt`` on a tree seeded from the warm entries, and once more cold when a tool crashed
    on that warm start; the entries are dropped when the cold run did not crash (they were the
    cause: built again next time; a crash that persists cold is the tool's, see harness)."""
    tries = (warm, None) if warm is not None and digest else (None,)
    for seeded in tries:
        result = attempt(seeded)
        if not crashed_on(result):
            break
    if warm is not None and len(tries) == 2 and seeded is None and not crashed_on(result):
        warm.discard(spec, digest)
    return result


def _crashed(verdict: Verdict) -> bool:
    return any(crashed(r) for r in (verdict.tests, *(c.result for c in verdict.compliance)))


def _apply(spec: FixtureSpec, student: Workspace, tree: CleanTree) -> None:
    rules = policy(spec)
    for rel in student.changed_files():
        why = rules.refusal(rel)
        if why is None:
            why = _copy_change(student, tree.ws, rel)
        if why is None:
            tree.applied.append(rel)
        else:
            tree.dropped.append(f"{rel} ({why})")
            tree.dropped_paths.append(rel)


def _copy_change(student: Workspace, clean: Workspace, rel: str) -> str | None:
    """Carry one editable change into the clean tree; why it cannot be carried, or None."""
    source = student.contained(rel)
    if source is None:
        return "reached through a link"
    if not source.exists() and not source.is_symlink():
        target = clean.contained(rel)
        if target is not None and target.is_file() and not target.is_symlink():
            target.unlink()  # the student deleted an editable file
        return None
    if source.is_symlink() or not source.is_file():
        return "not a regular file (a link, FIFO or device)"
    data = read_regular(source, MAX_APPLIED_BYTES)
    if data is None:
        return f"unreadable or larger than {MAX_APPLIED_BYTES} bytes"
    target = clean.make_room(rel)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return None
