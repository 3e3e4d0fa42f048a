"""The workspace's total size quota (--arena-workspace-quota). RLIMIT_FSIZE caps one file; this
caps the sum: a command is watched while it runs and stopped once the workspace passes the quota,
and a workspace already over it refuses further commands and writes until the student deletes."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

MIN_POLL_S = 0.1
POLL_COST_RATIO = 10  # poll no more than a tenth of the time: a cargo target/ has thousands of files


def usage_bytes(root: Path) -> int:
    """Disk blocks under root (files, folders, links), each inode once: cargo hard-links its outputs."""
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [str(root)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            key = (info.st_dev, info.st_ino)
            if key in seen:
                continue
            seen.add(key)
            total += info.st_blocks * 512
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
    return total


def over_quota_text(used: int, quota: int) -> str:
    return (
        f"workspace quota exceeded: the project folder holds {used / 2**20:.1f} MiB, the quota is "
        f"{quota / 2**20:.1f} MiB (--arena-workspace-quota); delete files you do not need "
        "(e.g. rm -rf target) before going on"
    )


class QuotaWatch:
    """Polls the workspace's size while a command runs. Past ``limit`` (the quota, or the size the
    workspace already had when that was larger: deleting must stay possible) ``breach`` is set and
    ``stop`` (the command's kill) is called. ``used`` is the size once the command is over."""

    def __init__(self, root: Path, quota: int) -> None:
        self.root, self.quota = root, quota
        self.limit = max(quota, usage_bytes(root))
        self.breach: str | None = None
        self.used = 0
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, stop: Callable[[], None]) -> None:
        def watch() -> None:
            while not self._done.is_set():
                started = time.monotonic()
                used = usage_bytes(self.root)
                if used > self.limit:
                    self.breach = over_quota_text(used, self.quota)
                    stop()
                    return
                cost = time.monotonic() - started
                self._done.wait(max(MIN_POLL_S, cost * POLL_COST_RATIO))

        self._thread = threading.Thread(target=watch, name="arena-quota", daemon=True)
        self._thread.start()

    def finish(self) -> None:
        """Stops watching; growth in the last moments of the command is still caught here."""
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.used = usage_bytes(self.root)
        if self.breach is None and self.used > self.limit:
            self.breach = over_quota_text(self.used, self.quota)

    def note(self) -> str:
        """What the student is told after a command that left the workspace over its quota."""
        return over_quota_text(self.used, self.quota) if self.breach is None and self.used > self.quota else ""
