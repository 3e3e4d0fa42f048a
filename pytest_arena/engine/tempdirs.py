"""Temporary folders of the arena (workspaces, private HOME/TMPDIR) carry their owner's process id,
so a run can remove those left behind by a process that died (a killed xdist worker) instead of
letting them pile up in the temp dir."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path

OWNER_FILE = ".arena-owner"
PREFIX = "arena-"


def make_owned(prefix: str) -> Path:
    """A fresh temporary folder marked as owned by this process."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    (base / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
    return base


def disown(base: Path) -> None:
    """Kept on purpose (--arena-keep-workspaces): never removed as stale."""
    with contextlib.suppress(OSError):
        (base / OWNER_FILE).unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_tree(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    if folder.exists():  # read-only folders left by a student's chmod
        for dirpath, dirnames, _ in os.walk(folder):
            for name in dirnames:
                path = Path(dirpath) / name
                if not path.is_symlink():
                    with contextlib.suppress(OSError):
                        path.chmod(path.stat().st_mode | stat.S_IRWXU)
        shutil.rmtree(folder, ignore_errors=True)


def clean_stale(tmp: Path | None = None) -> list[Path]:
    """Removes arena temp folders whose owner process is gone; returns what it removed."""
    removed: list[Path] = []
    root = tmp or Path(tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            if not entry.name.startswith(PREFIX) or not entry.is_dir(follow_symlinks=False):
                continue
            try:
                pid = int((Path(entry.path) / OWNER_FILE).read_text(encoding="ascii"))
            except (OSError, ValueError):
                continue  # not ours, or kept on purpose
            if pid != os.getpid() and not _alive(pid):
                remove_tree(Path(entry.path))
                removed.append(Path(entry.path))
    return removed


def out_of_space(exc: OSError) -> bool:
    """ENOSPC or EDQUOT, also inside the list of errors shutil.copytree gathers."""
    return exc.errno in (errno.ENOSPC, errno.EDQUOT) or any(
        f"[Errno {code}]" in str(exc) for code in (errno.ENOSPC, errno.EDQUOT)
    )


def temp_full(what: str, needed: int) -> str:
    """One line for a full temporary folder: which one, what for, how much it needs and has."""
    folder = tempfile.gettempdir()
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = 0
    return (
        f"TMPDIR {folder} is full: {what} needs about {needed / 2**20:.1f} MiB, {free / 2**20:.1f} MiB are free; "
        "free space there or point TMPDIR at a larger disk"
    )


def space_problem(needed: int) -> str | None:
    """Why an item cannot start for lack of room in TMPDIR (its workspace and the oracle's clean
    tree are two copies of repo/), or None: said before a student spends any time on it."""
    try:
        free = shutil.disk_usage(tempfile.gettempdir()).free
    except OSError:
        return None
    return temp_full("an item (two copies of repo/)", needed) if free < needed else None
