"""How a warm cache entry's artifacts reach a workspace without copying every byte, and without
anything done in the workspace ever writing through into the cache.

Each file takes the first of three ways that works:

1. **A reflink** (``FICLONE``: btrfs, XFS, bcachefs, ...): a copy-on-write clone, no byte copied,
   and a write to either file never reaches the other. Safe for every file and every user.
2. **A hard link**, only for the files the toolchain never rewrites in place (the language's
   ``replaced``) and only where a student cannot write through the link either: the cache's file
   is first *sealed*, owned by ``nobody`` and writable by that owner alone, and the student's
   commands run in bwrap as a root without capabilities, which cannot write a file it neither
   owns nor has write permission for, nor chmod, chown or stamp it (tried: ``echo >>``,
   ``truncate``, ``chmod``, ``touch``, ``utime``, ``ln`` are all refused); it may still unlink
   or rename the link, which is all a rebuild does. Without the sandbox (``--arena-sandbox
   none``), or for a user who cannot chown, nothing is linked.
3. **A copy**, as before.

What "never rewrites in place" means for cargo was measured (strace of ``cargo test`` and
``cargo clippy`` in a workspace whose ``target/`` was all hard links to a warm build, on an
untouched tree, a fixed one and a backdated fix; then the cache's hashes compared):

- rewritten in place (``open(O_WRONLY|O_CREAT|O_TRUNC)`` of the existing file, so the cache's
  copy changed): every ``.fingerprint/*/*`` file (``dep-*``, ``invoked.timestamp``, the hashes,
  the ``.json``), rustc's dep-info ``deps/*.d`` and ``target/.rustc_info.json`` (even on an
  untouched tree); ``.cargo-lock`` is opened read-write (a lock, no write). rustc's incremental
  session files are new files in new folders (and are never seeded);
- replaced (unlink, then a new file renamed or linked into place; the old inode untouched):
  ``deps/*.rlib``, ``deps/*.rmeta`` and the executables (test binaries, and the programs cargo
  uplifts into ``target/debug/``), two thirds of a Rust entry's bytes (rustc's incremental
  caches, never seeded, are most of the rest). rustc checks the old file's mode first: it
  refuses to replace an output with no write bit at all, so a seal keeps the owner's.

Files a harness process writes itself, outside the sandbox (the file tool, ``freshen``), go
through :func:`detach` first.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import stat
from collections import Counter
from collections.abc import Callable
from pathlib import Path

FICLONE = 0x40049409  # _IOW(0x94, 9, int): linux/fs.h
SEALED_UID = 65534  # nobody (and nogroup): no sandboxed command runs as it
_SKIPPED = frozenset({"incremental"})  # rustc's incremental caches: not worth seeding (see warm.py)
# (cache device, workspace device) pairs where FICLONE failed: not tried again in this process.
_NO_REFLINK: set[tuple[int, int]] = set()


def reflink(source: Path, target: Path) -> bool:
    """``target`` made a copy-on-write clone of ``source``, with its mode and times; False (and no
    ``target``) where the filesystem cannot clone."""
    devices = (source.stat().st_dev, target.parent.stat().st_dev)
    if devices in _NO_REFLINK:
        return False
    with source.open("rb") as src, target.open("xb") as dst:  # "x": never over a file of its own
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
            cloned = True
        except OSError as exc:
            cloned = False
            if exc.errno in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL):
                _NO_REFLINK.add(devices)
    if not cloned:
        target.unlink()
        return False
    shutil.copystat(source, target)
    return True


def seal(path: Path) -> bool:
    """The cache's file made unwritable from a sandboxed command: owned by nobody, writable by its
    owner alone. The owner's write bit stays: rustc refuses to replace an output whose mode has no
    write bit ("output file ... is not writeable"), though it would only unlink it. False when this
    process may not chown (not root)."""
    info = path.lstat()
    mode = stat.S_IMODE(info.st_mode) & ~0o7022  # no group/other write, no setuid/setgid/sticky
    try:
        if (info.st_uid, info.st_gid) != (SEALED_UID, SEALED_UID):
            os.chown(path, SEALED_UID, SEALED_UID, follow_symlinks=False)
        if stat.S_IMODE(info.st_mode) != mode:
            os.chmod(path, mode, follow_symlinks=False)
    except (OSError, NotImplementedError):
        return False
    return True


def links_allowed(sandbox_kind: str) -> bool:
    """Hard links are safe only behind the sandbox (it drops the capabilities that would write a
    sealed file) and for a process that can seal (chown) the cache's files."""
    return sandbox_kind == "bwrap" and hasattr(os, "geteuid") and os.geteuid() == 0


def place_tree(source: Path, target: Path, *, replaced: Callable[[str], bool], may_link: bool) -> Counter[str]:
    """``source`` (a cache entry's ``target/``, say) laid out at ``target``: folders made, links
    recreated, each file reflinked, hard-linked (``may_link`` and ``replaced(its path relative to
    the entry, e.g. "target/debug/deps/libx-0123.rlib")``) or copied, mtimes kept (the artifacts
    must stay newer than the pristine sources). Returns how many files went each way."""
    ways: Counter[str] = Counter()
    base = source.parent
    for dirpath, dirnames, filenames in os.walk(source):
        here = Path(dirpath)
        there = target / here.relative_to(source)
        there.mkdir(parents=True, exist_ok=True)
        links = [d for d in dirnames if (here / d).is_symlink()]
        dirnames[:] = [d for d in dirnames if d not in _SKIPPED and d not in links]
        for name in [*filenames, *links]:
            ways[_place(here / name, there / name, replaced((here / name).relative_to(base).as_posix()), may_link)] += 1
    for dirpath, _dirnames, _filenames in os.walk(source, topdown=False):  # folders' times last
        here = Path(dirpath)
        if (target / here.relative_to(source)).is_dir():
            shutil.copystat(here, target / here.relative_to(source))
    return ways


def _place(source: Path, target: Path, linkable: bool, may_link: bool) -> str:
    info = source.lstat()
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(source), target)
        return "symlink"
    if not stat.S_ISREG(info.st_mode):
        return "skipped"
    if reflink(source, target):
        return "reflink"
    if may_link and linkable and seal(source):
        try:
            os.link(source, target, follow_symlinks=False)
            return "link"
        except OSError:  # another filesystem (EXDEV), a link count at its limit: a copy
            pass
    copy_sparse(str(source), str(target))
    os.chmod(target, stat.S_IMODE(info.st_mode) | 0o200)  # a sealed source's copy is the workspace's own
    return "copy"


def detach(path: Path) -> None:
    """A file that shares its inode (a warm artifact linked from the cache) replaced by a copy of
    its own, mtime kept, before a process outside the sandbox (with every capability) writes or
    stamps it: that write would otherwise land in the cache."""
    with contextlib.suppress(OSError):
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_nlink < 2:
            return
        own = path.with_name(f".{path.name}.detached.{os.getpid()}")
        copy_sparse(str(path), str(own))
        os.chmod(own, stat.S_IMODE(info.st_mode) | 0o200)
        os.replace(own, path)


def copy_sparse(source: str, target: str) -> str:
    """copy2 that keeps a sparse file's holes (SEEK_DATA/SEEK_HOLE): a 1 GiB file of one byte and a
    hole costs a block in every workspace, not 1 GiB of disk and a gigabyte of page cache."""
    with open(source, "rb") as src:
        info = os.fstat(src.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_blocks * 512 >= info.st_size:
            return str(shutil.copy2(source, target))  # not sparse: the kernel's fast copy
        with open(target, "wb") as dst:
            offset = 0
            while offset < info.st_size:
                try:
                    offset = os.lseek(src.fileno(), offset, os.SEEK_DATA)
                except OSError:  # ENXIO: only a hole is left
                    break
                end = os.lseek(src.fileno(), offset, os.SEEK_HOLE)
                src.seek(offset)
                dst.seek(offset)
                while offset < end:
                    chunk = src.read(min(1 << 20, end - offset))
                    if not chunk:
                        break
                    dst.write(chunk)
                    offset += len(chunk)
            dst.truncate(info.st_size)
    shutil.copystat(source, target)
    return target
