"""Fixtures worked on several at once: the warm-up phase (pytest_arena/warmup.py), ``arena-validate
--jobs N`` and its impossible twins all go through :func:`each_at_once`. Threads, not processes:
the work is subprocesses (cargo, pytest, ruff, mypy in the sandbox), which run in parallel while
their threads wait."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def each_at_once(
    work: Callable[[T], R], items: Sequence[T], jobs: int, on_done: Callable[[int, R], None] | None = None
) -> list[R]:
    """``work`` on every item over at most ``jobs`` threads; the results in the items' order.
    ``on_done(done, result)`` runs in the calling thread as each item ends, in the order they end."""
    results: dict[int, R] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(items))))
    try:
        futures = {pool.submit(work, item): index for index, item in enumerate(items)}
        for future in as_completed(futures):
            results[futures[future]] = result = future.result()
            if on_done is not None:
                on_done(len(results), result)
    finally:
        # On Ctrl-C or an error, the items not started yet are dropped: only the running ones
        # (whose subprocesses got the same signal) are waited for, not every remaining build.
        pool.shutdown(wait=True, cancel_futures=True)
    return [results[index] for index in range(len(items))]
