"""A student's private copy of a fixture: path confinement, protected files, the final diff."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import os
import re
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path

from .artifact_links import copy_sparse, detach
from .commands import DEFAULT_OUTPUT_CAP, CommandResult, private_dirs, run_shell
from .harness import HarnessFault
from .languages import ignored_dirs
from .quota import QuotaWatch, over_quota_text, usage_bytes
from .sandbox import Sandbox
from .tempdirs import disown, make_owned, out_of_space, remove_tree, space_problem, temp_full

MAX_DIFF_FILE_BYTES = 256 * 1024


class PathRefused(Exception):
    """A tool path that would leave the workspace (or is otherwise unusable); shown to the student."""


def _ignore(_dir: str, names: list[str]) -> set[str]:
    ignored = ignored_dirs()
    return {name for name in names if name in ignored}


def iter_files(root: Path) -> list[str]:
    """Relative POSIX paths of regular files and links under root, skipping build output."""
    found: list[str] = []
    ignored = ignored_dirs()
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        # os.walk puts a link to a folder among the folders and does not follow it: listed here
        # as the link it is, so a student's `ln -s / escape` shows in the diff and files_touched.
        links = [d for d in dirnames if (base / d).is_symlink()]
        dirnames[:] = sorted(d for d in dirnames if d not in ignored and d not in links)
        names = sorted([*filenames, *links])
        found.extend((base / name).relative_to(root).as_posix() for name in names)
    return found


@functools.lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A path glob as a regex: ``**`` spans folders (``a/**`` is everything under a), ``*`` and
    ``?`` stay within one path component."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches_any(relative: str, globs: list[str]) -> bool:
    return any(glob_regex(pattern).match(relative) for pattern in globs)


class Workspace:
    """``repo/`` copied to a fresh temporary folder; the only place a student may touch."""

    def __init__(
        self,
        pristine: Path,
        protected: list[str],
        *,
        prefix: str = "arena-",
        sandbox: Sandbox | None = None,
        quota: int = 0,
        refuse: Callable[[str], str | None] | None = None,
    ) -> None:
        self.sandbox = sandbox or Sandbox()
        # Why a file-tool write to a relative path is refused (outside `editable`); None: allowed.
        self.refuse = refuse
        self.quota = quota  # bytes the workspace may hold in all; 0: no limit
        # time.monotonic() past which no command may run on (the session's wall budget); None: none
        self.deadline: float | None = None
        # Run once, before the first command: laying in the warm build's artifacts (warm.seed),
        # which only commands use, so a session that runs none (a reference or a finish-only
        # student, a model that answers at once) never pays for them.
        self.before_first_command: Callable[[], object] | None = None
        self.pristine = pristine.resolve()
        self.protected = list(protected)
        self.base = self.root = Path()
        try:
            self.base = make_owned(prefix)
            self.root = (self.base / "ws").resolve(strict=False)
            shutil.copytree(self.pristine, self.root, symlinks=True, ignore=_ignore, copy_function=copy_sparse)
            self.root = self.root.resolve()
            self.home, self.tmp = private_dirs(prefix + "env-")
        except OSError as exc:
            if self.base != Path():
                remove_tree(self.base)
            if not out_of_space(exc):
                raise
            needed = usage_bytes(self.pristine)
            raise HarnessFault("TMPDIR", temp_full(f"a copy of {self.pristine}", needed)) from None

    # -- confinement -------------------------------------------------------------------------

    def resolve(self, path: str, *, must_exist: bool = False) -> Path:
        """Map a student path to a real path inside the workspace or raise PathRefused.

        Absolute paths, ``..`` and symlinks are judged by where they really lead, so a link the
        student made with ``shell`` cannot carry a write outside.
        """
        if not isinstance(path, str) or not path.strip():
            raise PathRefused("path must be a non-empty string relative to the project root")
        if "\x00" in path:
            raise PathRefused("path contains a NUL byte")
        candidate = Path(path)
        if candidate.is_absolute():
            try:
                candidate = candidate.relative_to(self.root)
            except ValueError:
                raise PathRefused(
                    f"{path}: absolute paths outside the project are not allowed; "
                    "use a path relative to the project root"
                ) from None
        real = Path(os.path.realpath(self.root / candidate))
        if real != self.root and self.root not in real.parents:
            raise PathRefused(f"{path}: resolves outside the project (via '..' or a symlink); refused")
        if must_exist and not real.exists():
            raise PathRefused(f"{path}: no such file")
        if real.exists() and not (real.is_file() or real.is_dir()):
            raise PathRefused(f"{path}: not a regular file")
        return real

    def run(
        self,
        command: str,
        timeout_s: float,
        output_cap: int = DEFAULT_OUTPUT_CAP,
        *,
        env: dict[str, str] | None = None,
        writable: tuple[Path, ...] = (),
    ) -> CommandResult:
        """A shell command in the workspace, confined by the workspace's sandbox and its quota, and
        timed out at the deadline when that comes first."""
        if self.before_first_command is not None:
            prepare, self.before_first_command = self.before_first_command, None
            prepare()
        if self.deadline is not None:
            timeout_s = max(0.01, min(timeout_s, self.deadline - time.monotonic()))
        watch = QuotaWatch(self.root, self.quota) if self.quota else None
        result = run_shell(
            command,
            cwd=self.root,
            home=self.home,
            tmp=self.tmp,
            timeout_s=timeout_s,
            output_cap=output_cap,
            sandbox=self.sandbox,
            quota=watch,
            extra_env=env,
            writable=writable,
        )
        if watch is not None and (note := watch.note()):
            return dataclasses.replace(result, output=f"{result.output}\n[{note}]")
        return result

    def relative(self, real: Path) -> str:
        return real.relative_to(self.root).as_posix()

    def write_text(self, path: str, content: str) -> Path:
        real = self.resolve(path)
        if real.is_dir():
            raise PathRefused(f"{path}: is a directory")
        if self.refuse is not None and real != self.root and (why := self.refuse(self.relative(real))):
            raise PathRefused(f"{path}: not written: {why}; the oracle judges only changes to editable paths")
        if self.quota and (used := usage_bytes(self.root) + len(content.encode("utf-8", "replace"))) > self.quota:
            raise PathRefused(f"{path}: not written: {over_quota_text(used, self.quota)}")
        real.parent.mkdir(parents=True, exist_ok=True)
        # Creating parents must not have changed where the path leads; O_NOFOLLOW then refuses
        # a link swapped in at the last component.
        if self.resolve(path) != real:
            raise PathRefused(f"{path}: changed while being written; refused")
        detach(real)  # a warm artifact linked from the cache gets its own copy first
        fd = os.open(real, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        return real

    # -- oracle preparation and reporting ------------------------------------------------------

    def restore_protected(self) -> list[str]:
        """Put protected files back exactly as in the fixture; returns the paths that differed."""
        if not self.protected:
            return []
        restored: list[str] = []
        pristine_files = {p for p in iter_files(self.pristine) if matches_any(p, self.protected)}
        current = {p for p in iter_files(self.root) if matches_any(p, self.protected)}
        for extra in sorted(current - pristine_files):
            if (found := self.contained(extra)) is not None:
                found.unlink()
            restored.append(extra)
        for rel in sorted(pristine_files):
            source = self.pristine / rel
            target = self.contained(rel)
            if target is None or target.is_symlink() or not target.is_file() or _read(target) != source.read_bytes():
                target = self.make_room(rel)
                # A fresh mtime, not the pristine one: build tools (cargo) must see the restored
                # file as newer than artifacts built from the student's version of it.
                shutil.copyfile(source, target)
                os.utime(target)
                restored.append(rel)
        return restored

    def contained(self, rel: str) -> Path | None:
        """``root/rel`` when no folder on the way is a link or a non-folder (the path itself may
        be anything: a link, a FIFO); None otherwise. The harness runs outside the sandbox, so it
        must never follow a link the student made out of the workspace (``ln -s /host tests``)."""
        current = self.root
        parts = Path(rel).parts
        for part in parts[:-1]:
            current = current / part
            if current.is_symlink() or not current.is_dir():
                return None
        return current / parts[-1] if parts else None

    def make_room(self, rel: str) -> Path:
        """``root/rel`` with every folder on the way a real folder (links and files in the way are
        removed, never followed) and nothing at the path itself: ready for a fresh file."""
        current = self.root
        parts = Path(rel).parts
        for part in parts[:-1]:
            current = current / part
            if current.is_symlink() or (current.exists() and not current.is_dir()):
                current.unlink()
            current.mkdir(exist_ok=True)
        target = current / parts[-1]
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        return target

    def lay_over(self, folder: Path, *, keep_mtimes: bool) -> list[str]:
        """Copy every file of a fixture folder (hidden/, solution/) over the tree; returns them.
        Kept mtimes suit files a warm build has already seen (hidden tests); fresh ones, changes."""
        laid = iter_files(folder) if folder.is_dir() else []
        for rel in laid:
            target = self.make_room(rel)
            if keep_mtimes:
                shutil.copy2(folder / rel, target, follow_symlinks=False)
            else:
                shutil.copyfile(folder / rel, target, follow_symlinks=False)
        return laid

    def freshen(self, paths: list[str]) -> None:
        """Stamps these files with the current time: build tools then rebuild from them whatever
        their mtime was (a backdated file must not pass for an older, already-built one)."""
        for rel in paths:
            target = self.root / rel
            if target.is_symlink() or not target.is_file():
                continue
            try:
                detach(self.resolve(rel))  # a linked warm artifact moved here: stamp a copy, not the cache
                os.utime(self.resolve(rel))
            except (PathRefused, OSError):
                continue

    def changed_files(self) -> list[str]:
        before, after = set(iter_files(self.pristine)), set(iter_files(self.root))
        changed = before ^ after
        for rel in before & after:
            if _read(self.pristine / rel) != _read(self.root / rel):
                changed.add(rel)
        return sorted(changed)

    def diff(self) -> str:
        chunks: list[str] = []
        for rel in self.changed_files():
            old, new = _read(self.pristine / rel), _read(self.root / rel)
            chunks.extend(
                difflib.unified_diff(
                    _lines(old),
                    _lines(new),
                    fromfile=f"a/{rel}",
                    tofile=f"b/{rel}",
                )
            )
        return "".join(chunks)

    def cleanup(self) -> None:
        for folder in (self.base, self.home.parent):
            remove_tree(folder)

    def keep(self) -> None:
        """Left for inspection (--arena-keep-workspaces): never removed as stale by a later run."""
        disown(self.base)
        remove_tree(self.home.parent)


def temp_space_problem(pristine: Path) -> str | None:
    """A full TMPDIR, said in one line before an item on ``pristine`` starts; None when there is room."""
    return space_problem(2 * usage_bytes(pristine) + (1 << 20))


def _read(path: Path) -> bytes | None:
    """A file's bytes for diffs and comparisons: links as their target text, other non-regular
    files (FIFOs, sockets, devices) named, never opened: a FIFO would block the run forever."""
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            return b"symlink -> " + os.readlink(path).encode()
        if not stat.S_ISREG(info.st_mode):
            return b"<not a regular file: %s>" % _file_kind(info.st_mode).encode()
        if info.st_size > MAX_DIFF_FILE_BYTES:  # by digest: an edit that keeps the size still shows
            return b"<large file %d bytes, sha256 %s>" % (info.st_size, _sha256(path).encode())
        return read_regular(path)
    except OSError:
        return None


def read_regular(path: Path, limit: int | None = None) -> bytes | None:
    """The bytes of a regular file, opened without following a link and without blocking; None
    for anything else (a link, a FIFO, a device, a folder) or past ``limit`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or (limit is not None and info.st_size > limit):
            return None
        return handle.read()


def _sha256(path: Path) -> str:
    """Streamed, never read whole (a file may be as large as the workspace quota)."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device")):
        if test(mode):
            return name
    return "block device" if stat.S_ISBLK(mode) else "special file"


def _lines(data: bytes | None) -> list[str]:
    if data is None:
        return []
    if b"\x00" in data:
        return [f"<binary file, {len(data)} bytes>\n"]
    return data.decode("utf-8", errors="replace").splitlines(keepends=True)
