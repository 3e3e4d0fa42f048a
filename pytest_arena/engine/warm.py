"""The warm oracle: each fixture's pristine tree is built once, and every item's workspace starts
with its own copy of the build artifacts (cargo's ``target/``, mypy's and ruff's caches), so the
student's ``cargo test`` and the oracle compile incrementally.

The pristine build runs the fixture's own oracle and compliance commands in a throwaway copy of
``repo/``, inside the same sandbox as any item, and is kept per fixture content (its sha256) in
``$XDG_CACHE_HOME/pytest-arena/warm``: the first worker to need it builds it, later workers and
later runs copy it. Verdicts stay those of a cold build: the tools check their own caches (cargo
fingerprints, mypy's hashes), the artifacts are newer than every pristine file, and before the
oracle every file that differs from the fixture is stamped with the current time
(:meth:`Workspace.freshen`), so a file the student changed, even with a backdated mtime, is
always rebuilt; an artifact of the pristine tree can never stand in for it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from pathlib import Path

from .cachenote import unwritable
from .corpus import FixtureSpec
from .sandbox import Sandbox
from .workspace import Workspace

WARM_DIRS = ("target", ".mypy_cache", ".ruff_cache")
_SKIPPED = shutil.ignore_patterns("incremental")
_LOCK = threading.Lock()


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pytest-arena" / "warm"


class WarmCache:
    """Per process: fixture digest -> folder holding the pristine build's artifact folders."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_root()
        self.ready: dict[str, Path | None] = {}

    def artifacts(self, spec: FixtureSpec, digest: str, sandbox: Sandbox, hidden: bool = False) -> Path | None:
        """The artifact folder of this fixture's pristine build, built on first use; None when
        the build left nothing worth copying. ``hidden``: the oracle's build, with the hidden
        tests compiled in: a separate build, since the student's copy must not carry them."""
        if hidden and spec.hidden_dir.is_dir():
            digest = f"{digest[:31]}h"
        with _LOCK:
            if digest not in self.ready:
                self.ready[digest] = self._build(spec, digest, sandbox, hidden)
            return self.ready[digest]

    def seed(self, spec: FixtureSpec, digest: str, ws: Workspace, *, hidden: bool = False) -> list[str]:
        """Copies the pristine build's artifacts into the workspace; returns what was copied."""
        found = self.artifacts(spec, digest, ws.sandbox, hidden)
        if found is None:
            return []
        copied = []
        for name in WARM_DIRS:
            source = found / name
            if source.is_dir() and not (ws.root / name).exists():
                # copy2 keeps mtimes: the artifacts stay newer than the pristine sources. rustc's
                # incremental caches (a third of target/) only speed up crates the student edits,
                # which tiny crates rebuild as fast without them: not worth copying per item.
                shutil.copytree(source, ws.root / name, symlinks=True, ignore=_SKIPPED)
                copied.append(name)
        return copied

    def _build(self, spec: FixtureSpec, digest: str, sandbox: Sandbox, hidden: bool) -> Path | None:
        final = self.root / digest[:32]
        if (final / ".complete").is_file():
            return final
        ws = Workspace(spec.repo_dir, [], prefix=f"arena-warm-{spec.id}-", sandbox=sandbox)
        try:
            if hidden:
                ws.lay_over(spec.hidden_dir, keep_mtimes=True)
            for command in filter(None, (spec.oracle_cmd, spec.compliance_cmd)):
                ws.run(command, spec.oracle_timeout_s)  # pass or fail, the artifacts are what counts
            built = [name for name in WARM_DIRS if (ws.root / name).is_dir()]
            if not built:
                return None
            staging = self.root / f".{digest[:32]}.{os.getpid()}.{threading.get_ident()}"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            for name in built:
                shutil.move(str(ws.root / name), staging / name)
            (staging / ".complete").write_text(spec.id + "\n", encoding="utf-8")
            try:
                os.rename(staging, final)
            except OSError:  # another worker got there first: its build is as good
                shutil.rmtree(staging, ignore_errors=True)
            return final if (final / ".complete").is_file() else None
        except OSError as exc:
            unwritable("warm build", self.root, exc)
            return None  # a full disk or an unwritable cache: items simply build cold
        finally:
            ws.cleanup()

    def clear(self) -> None:
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)
