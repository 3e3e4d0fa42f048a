"""The warm oracle: each fixture's pristine tree is built once, and every item's workspace starts
with the build artifacts (cargo's ``target/``, mypy's and ruff's caches), so the student's
``cargo test`` and the oracle compile incrementally. They arrive as reflinks where the filesystem
clones, as hard links to the cache for the files cargo only ever replaces (sealed first, so that
nothing in a workspace writes through into the cache), and as copies otherwise
(engine/artifact_links.py).

The pristine build runs the fixture's own oracle and compliance commands in a throwaway copy of
``repo/``, inside the same sandbox as any item, and is kept per fixture content (its sha256) in
``$XDG_CACHE_HOME/pytest-arena/warm``: the first worker to need it builds it, later workers and
later runs copy it. Verdicts stay those of a cold build: the tools check their own caches (cargo
fingerprints, mypy's hashes), the artifacts are newer than every pristine file, and before the
oracle every file that differs from the fixture is stamped with the current time
(:meth:`Workspace.freshen`), so a file the student changed, even with a backdated mtime, is
always rebuilt; an artifact of the pristine tree can never stand in for it.

An entry is trusted only whole: ``.complete``, written last, holds a sha256 over what
:meth:`WarmCache.seed` copies (small files by content, large ones, a cargo binary or a mypy cache
database, by size and mtime: about 0.005 s per entry), checked once per process before first use;
an entry that differs (half-written, corrupted, hand-edited) is removed and built again. A tool
that still crashes on a warm start (mypy's INTERNAL ERROR on a cache that was built bad) gets its
run repeated cold and its entry dropped by the caller (:func:`cleantree.judge_clean`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import threading
from pathlib import Path

from .artifact_links import links_allowed, place_tree
from .cachenote import cache_folder, unwritable
from .commands import CommandResult
from .corpus import FixtureSpec
from .evidence import EVIDENCE_DIR, TestEvidence
from .languages import command_env, language_of, replaced_output, warm_dirs
from .oracle import run_tests
from .sandbox import Sandbox
from .tempdirs import out_of_space
from .workspace import Workspace

_LOCK = threading.Lock()
COMPLETE = ".complete"
# Files above this are digested by size and mtime, not read: an entry then costs 0.005 s to check,
# not 0.1-0.16 s (60 MiB cargo target/ folders, measured); a crash the stat misses is still retried.
CONTENT_HASHED_BYTES = 1 << 20


def _entry_key(spec: FixtureSpec, digest: str, hidden: bool) -> str:
    """The fixture's content and the environment every command gets (the languages' command_env:
    cargo's fingerprints hash CARGO_INCREMENTAL, so an entry built under another value would be
    rebuilt whole by every item). The oracle's build with hidden/ laid over is an entry of its own
    beside the pristine one."""
    env = "\0".join(f"{k}={v}" for k, v in sorted(command_env().items()))
    key = hashlib.sha256(f"{digest}\0{env}".encode()).hexdigest()
    return f"{key[:31]}h" if hidden and spec.hidden_dir.is_dir() else key


def cache_root() -> Path:
    return cache_folder("warm")


class WarmCache:
    """Per process: fixture digest -> folder holding the pristine build's artifact folders."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_root()
        self.ready: dict[str, Path | None] = {}
        self._locks: dict[str, threading.Lock] = {}
        # fixture digest -> the oracle's test command on the pristine tree, hidden/ included, as
        # the oracle's entry was built: the baseline's pristine run, so it is not run twice
        self._pristine_runs: dict[str, tuple[CommandResult, TestEvidence]] = {}

    def artifacts(self, spec: FixtureSpec, digest: str, sandbox: Sandbox, hidden: bool = False) -> Path | None:
        """The artifact folder of this fixture's pristine build, built on first use; None when
        the build left nothing worth copying. ``hidden``: the oracle's build, with the hidden
        tests compiled in: a separate build, since the student's copy must not carry them."""
        key = _entry_key(spec, digest, hidden)
        with self._lock(key):
            if key not in self.ready:
                self.ready[key] = self._build(spec, digest, key, sandbox)
            return self.ready[key]

    def entry(self, spec: FixtureSpec, digest: str, *, hidden: bool = False) -> Path:
        """Where this fixture's entry (pristine, or the oracle's) is kept."""
        return self.root / _entry_key(spec, digest, hidden)[:32]

    def missing(self, spec: FixtureSpec, digest: str) -> bool:
        """Whether an entry of this fixture (pristine or oracle's) is neither known to this process
        nor complete on disk: what the warm-up phase builds before the items."""
        keys = {_entry_key(spec, digest, hidden) for hidden in (False, True)}
        return any(key not in self.ready and not (self.root / key[:32] / COMPLETE).is_file() for key in keys)

    def seed(self, spec: FixtureSpec, digest: str, ws: Workspace, *, hidden: bool = False) -> list[str]:
        """Lays the pristine build's artifacts into the workspace (reflinked, hard-linked where that
        is safe, else copied: engine/artifact_links.py); returns the folders laid."""
        found = self.artifacts(spec, digest, ws.sandbox, hidden)
        if found is None:
            return []
        seeded = []
        may_link = links_allowed(ws.sandbox.kind)
        for name in warm_dirs():
            source = found / name
            if source.is_dir() and not (ws.root / name).exists():
                # Mtimes kept: the artifacts stay newer than the pristine sources. rustc's
                # incremental caches (a third of target/) only speed up crates the student edits,
                # which tiny crates rebuild as fast without them: not worth seeding per item.
                try:
                    place_tree(source, ws.root / name, replaced=replaced_output, may_link=may_link)
                except OSError as exc:  # a full TMPDIR: this item builds cold (or fails at its oracle)
                    shutil.rmtree(ws.root / name, ignore_errors=True)
                    if not out_of_space(exc):
                        raise
                    break
                seeded.append(name)
        language = language_of(ws.root)
        if seeded and language.relocated is not None:
            language.relocated(ws.root)
        return seeded

    def pristine_run(self, digest: str) -> tuple[CommandResult, TestEvidence] | None:
        """The test run of the pristine tree (hidden tests included) that built this fixture's
        oracle entry in this process, handed out once; None when the entry came from disk."""
        return self._pristine_runs.pop(digest, None)

    def discard(self, spec: FixtureSpec, digest: str) -> None:
        """Forgets a fixture's entries after a tool crashed on one: removed from disk, so the next
        use builds them again. Both go: the oracle's entry is built from the pristine one, so a
        corrupted pristine entry would corrupt the oracle's again."""
        for key in dict.fromkeys(_entry_key(spec, digest, hidden) for hidden in (True, False)):
            with self._lock(key):
                self.ready.pop(key, None)
                _remove_entry(self.root / key[:32])

    def _lock(self, key: str) -> threading.Lock:
        """One lock per entry: the warm-up's threads build different fixtures at once."""
        with _LOCK:
            return self._locks.setdefault(key, threading.Lock())

    def _build(self, spec: FixtureSpec, digest: str, key: str, sandbox: Sandbox) -> Path | None:
        final = self.root / key[:32]
        if (final / COMPLETE).is_file():
            if _verified(final):
                return final
            _remove_entry(final)
        ws = Workspace(spec.repo_dir, [], prefix=f"arena-warm-{spec.id}-", sandbox=sandbox)
        try:
            self._run_build(spec, digest, key, ws)
            built = [name for name in warm_dirs() if (ws.root / name).is_dir()]
            if not built:
                return None
            staging = self.root / f".{key[:32]}.{os.getpid()}.{threading.get_ident()}"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            for name in built:
                shutil.move(str(ws.root / name), staging / name)
            (staging / COMPLETE).write_text(f"{spec.id}\nsha256 {entry_digest(staging)}\n", encoding="utf-8")
            try:
                os.rename(staging, final)
            except OSError:  # another worker got there first: its build is as good
                shutil.rmtree(staging, ignore_errors=True)
            return final if _verified(final) else None
        except OSError as exc:
            unwritable("warm build", self.root, exc)
            return None  # a full disk or an unwritable cache: items simply build cold
        finally:
            ws.cleanup()

    def _run_build(self, spec: FixtureSpec, digest: str, key: str, ws: Workspace) -> None:
        """The fixture's own commands in ``ws``; pass or fail, the artifacts are what counts."""
        if key != _entry_key(spec, digest, False):  # the oracle's entry: hidden/ over the pristine tree
            # Started from the pristine build, the oracle's compiles only what hidden/ adds.
            # The hidden files are stamped now: one that replaces a pristine file must not
            # look older than the pristine artifacts built from that file.
            seeded = self.seed(spec, digest, ws)
            laid = ws.lay_over(spec.hidden_dir, keep_mtimes=True)
            if seeded:
                ws.freshen(laid)
        if key == _entry_key(spec, digest, True):
            # The oracle's entry is built by the pristine tree's tests as the oracle runs them
            # (the harness's runner settings): the baseline's pristine run, kept for it.
            evidence = ws.base / EVIDENCE_DIR
            evidence.mkdir(exist_ok=True)
            self._pristine_runs[digest] = run_tests(spec, ws, evidence)
        else:
            ws.run(spec.oracle_cmd, spec.oracle_timeout_s)
        if spec.compliance_cmd:
            ws.run(spec.compliance_cmd, spec.oracle_timeout_s)

    def clear(self) -> None:
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)


def entry_digest(entry: Path) -> str:
    """sha256 over every file seed() copies from an entry (its path, and a link's target, a small
    file's bytes or a large file's size and mtime), in a fixed order; ``.complete`` and rustc's
    uncopied incremental caches left out."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(entry):
        dirnames[:] = sorted(d for d in dirnames if d != "incremental")
        base = Path(dirpath)
        for name in sorted(filenames + [d for d in dirnames if (base / d).is_symlink()]):
            path = base / name
            rel = path.relative_to(entry).as_posix()
            if rel == COMPLETE:
                continue
            digest.update(f"{rel}\0".encode())
            info = path.lstat()
            if path.is_symlink():
                digest.update(b"link " + os.readlink(path).encode())
                continue
            if info.st_size > CONTENT_HASHED_BYTES:  # any write moves the mtime; a cut file, the size
                digest.update(f"size {info.st_size} mtime {info.st_mtime_ns}".encode())
                continue
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
    return digest.hexdigest()


def _verified(entry: Path) -> bool:
    """Whether ``.complete`` names the digest the entry has now (an entry from before digests
    were kept names none, and is built again once)."""
    try:
        said = (entry / COMPLETE).read_text(encoding="utf-8").split()
        return len(said) >= 2 and said[-2] == "sha256" and said[-1] == entry_digest(entry)
    except OSError:
        return False


def _remove_entry(entry: Path) -> None:
    """Moved aside first, so a worker looking at the name sees a whole entry or none."""
    aside = entry.with_name(f".{entry.name}.stale.{os.getpid()}.{threading.get_ident()}")
    with contextlib.suppress(OSError):
        os.rename(entry, aside)
    shutil.rmtree(aside, ignore_errors=True)
