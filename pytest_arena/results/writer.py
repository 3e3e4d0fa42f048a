"""``reports/<run-id>/results.jsonl``, written by the one process that owns the run (the controller
under xdist), under an exclusive lock on the run folder: one whole line per finished item, never a
second record of an item the file holds, and a write that fails (a full disk) leaves no torn line."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .record import ItemRecord
from .resume import ResumeKey, record_key, recorded_keys
from .run_folder import ReportsUnwritable, lock_run_folder, repair_torn_tail


class RunWriter:
    """Appends records, flushed and synced one by one, so a run killed halfway keeps every
    finished result. The file is opened with the first record: a run that finishes none leaves
    no folder."""

    def __init__(self, reports: Path, run_id: str) -> None:
        self.reports, self.run_dir = reports, reports / run_id
        self.path = self.run_dir / "results.jsonl"
        self.written = 0  # records this run appended
        self.duplicates = 0  # records not appended: the file already held that item's result
        self._lock: int | None = None
        self._fd: int | None = None
        self._keys: set[ResumeKey] = set()

    def lock(self, option: str = "arena-resume") -> None:
        """Raises RunFolderError when another run holds the folder."""
        if self._lock is None:
            self._lock = lock_run_folder(self.run_dir, option)

    def _open(self) -> int:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.lock("arena-reports")  # a new run's folder has a fresh name: nobody else holds it
            repair_torn_tail(self.path)  # a record always starts on a fresh line
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ReportsUnwritable(self.path, exc) from None
        self._keys = recorded_keys(self.path)
        _point_latest(self.reports, self.run_dir.name)
        self._fd = fd
        return fd

    def append(self, record: ItemRecord) -> bool:
        """True when written; False when the file already holds this item's result (same fixture
        version and settings). Raises ReportsUnwritable, with the file as it was before the call."""
        fd = self._fd if self._fd is not None else self._open()
        key = record_key(record.model_dump(by_alias=True))
        if key is not None and key in self._keys:
            self.duplicates += 1
            return False
        data = (record.model_dump_json(by_alias=True) + "\n").encode("utf-8")
        size = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)  # no torn line: the file ends on the last whole record
            raise ReportsUnwritable(self.path, exc) from None
        if key is not None:
            self._keys.add(key)
        self.written += 1
        return True

    def close(self) -> None:
        for fd in (self._fd, self._lock):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = self._lock = None


def _point_latest(reports: Path, run_id: str) -> None:
    latest = reports / "latest"
    temporary = reports / f".latest-{run_id}"
    try:
        if temporary.is_symlink():
            temporary.unlink()
        temporary.symlink_to(run_id)
        os.replace(temporary, latest)
    except OSError:  # a file system without links still gets the run folder
        pass
