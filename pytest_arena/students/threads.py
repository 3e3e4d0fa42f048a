"""How many CPU threads an in-process model computes with: the cores this process may run on,
shared evenly among the run's xdist workers, so that ``-n 2`` on two cores gives each worker one
thread (not two each, fighting over the cores) and a run without ``-n`` gets both (llama-cpp-python's
own default, cpu_count() // 2 for generation, leaves one of two cores idle)."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on: a container or ``taskset`` narrows the affinity mask,
    which os.cpu_count() (the machine's count) does not see."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def llama_threads(workers: int, cores: int | None = None, chosen: int = 0) -> int:
    """Threads per process: ``chosen`` (--arena-threads) when given, else cores / workers, at
    least 1 (three workers on two cores still need one thread each)."""
    if chosen > 0:
        return chosen
    return max(1, (usable_cores() if cores is None else cores) // max(1, workers))
