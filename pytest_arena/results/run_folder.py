"""A run folder checked before the first item runs: a reports folder that cannot take results must
stop the run at once (not after hours of model time), and a torn last line left by a killed run
must not swallow the next record."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
from pathlib import Path
from typing import BinaryIO

TORN_SUFFIX = ".torn"


class RunFolderError(Exception):
    """The reports folder or results file cannot be written; the text names it and the fix."""


class ReportsUnwritable(Exception):
    """A result could not be written mid-run (the disk full, the folder gone read-only); whatever
    was half written has been removed, and the run stops."""

    def __init__(self, path: Path, exc: OSError) -> None:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        self.what = "reports folder full" if full else "reports folder cannot be written"
        self.path = path
        super().__init__(f"{self.what} ({exc.strerror or exc}, writing {path})")


LOCK = ".lock"


def lock_run_folder(run_dir: Path, option: str) -> int:
    """An exclusive lock on the run folder for this process's lifetime (the descriptor returned):
    two runs appending to one results.jsonl would record every item twice."""
    handle = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(handle)
        raise RunFolderError(
            f"--{option}={run_dir}: another pytest --arena run is writing to this run folder. "
            "Fix: wait for it to finish, then resume"
        ) from None
    return handle


def _probe_folder(folder: Path, option: str) -> None:
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(
            f"--{option}={folder}: is a file, not a folder. Fix: name a folder (it is created if missing)"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".arena-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RunFolderError(
            f"--{option}={folder}: results cannot be written there ({exc.strerror or exc}). Fix: name a writable folder"
        ) from None


def check_run_folder(reports: Path, run_dir: Path, resuming: bool) -> str | None:
    """Raises RunFolderError when results could not be written; returns a warning to show (a torn
    last line set aside) or None."""
    if not resuming:
        _probe_folder(reports, "arena-reports")
        return None
    _probe_folder(run_dir, "arena-resume")
    results = run_dir / "results.jsonl"
    if results.exists():
        try:
            with results.open("ab"):
                pass
        except OSError as exc:
            raise RunFolderError(
                f"--arena-resume={run_dir}: {results} cannot be appended to ({exc.strerror or exc}). "
                "Fix: make it writable, or start a new run without --arena-resume"
            ) from None
    return repair_torn_tail(results)


def repair_torn_tail(path: Path) -> str | None:
    """Makes ``path`` end on a whole line before anything is appended to it. A last line without
    its newline that is a whole JSON record only gets the newline; anything else is moved to
    ``<path>.torn`` (kept, never dropped) and the file truncated to its last whole line."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    with path.open("rb+") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return None
        keep = _last_newline_end(handle, size)
        handle.seek(keep)
        tail = handle.read()
        if _is_record(tail):
            handle.seek(size)
            handle.write(b"\n")
            return None
        torn = path.with_name(path.name + TORN_SUFFIX)
        with torn.open("ab") as aside:
            aside.write(tail + b"\n")
        handle.truncate(keep)
    return (
        f"{path}: its last line was torn ({len(tail)} bytes, a run killed while writing); "
        f"moved it to {torn} and continued on a clean line (that item runs again)"
    )


def _last_newline_end(handle: BinaryIO, size: int) -> int:
    """Offset just past the last newline of the file (0 when there is none)."""
    position = size
    while position > 0:
        start = max(0, position - 65536)
        handle.seek(start)
        chunk = handle.read(position - start)
        at = chunk.rfind(b"\n")
        if at != -1:
            return start + at + 1
        position = start
    return 0


def _is_record(data: bytes) -> bool:
    with contextlib.suppress(ValueError):
        return isinstance(json.loads(data), dict)
    return False
