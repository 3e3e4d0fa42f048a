"""The turn an item has reached, written as it goes: when its process dies (a killed xdist worker,
a segfaulting backend), the controller's crash record says how far the item got."""

from __future__ import annotations

import contextlib
from pathlib import Path

from .results.trajectory import safe_name

FOLDER = ".progress"


def progress_path(run_dir: Path, item_name: str) -> Path:
    return run_dir / FOLDER / safe_name(item_name)


def note_turn(run_dir: Path, item_name: str, turn: int) -> None:
    path = progress_path(run_dir, item_name)
    with contextlib.suppress(OSError):  # progress is a courtesy: never fail the item over it
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(turn), encoding="ascii")


def last_turn(run_dir: Path, item_name: str) -> int:
    try:
        return int(progress_path(run_dir, item_name).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return 0


def forget(run_dir: Path, item_name: str) -> None:
    path = progress_path(run_dir, item_name)
    with contextlib.suppress(OSError):
        path.unlink()
    with contextlib.suppress(OSError):
        path.parent.rmdir()  # only once the last item of the run is done
