"""One generation at a time on a llama.cpp context, and a way to stop it from outside.

A turn timeout ends the session's wait, not the generation thread: that thread keeps decoding,
and a second decode on the same context (the next turn or item) crashes the process. So every
decode runs under a lock, an abort callback stops llama.cpp even inside a long prefill (stopping
criteria run only between sampled tokens), and a context whose previous generation does not let
go within a bounded wait is poisoned: the student reloads the model instead of reusing it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

RELEASE_WAIT_S = 30.0  # how long a new turn waits for a stopped generation to let go of the context


class ContextPoisoned(Exception):
    """The previous generation still holds the context after the wait: reload, never reuse."""


class GenerationGuard:
    def __init__(self, llama_cpp: ModuleType, ctx: object) -> None:
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._deadline = float("inf")
        # Kept on self: llama.cpp holds only a raw pointer to the callback.
        self._callback = llama_cpp.ggml_abort_callback(lambda _data: self.stopped())
        llama_cpp.llama_set_abort_callback(ctx, self._callback, None)

    def stopped(self) -> bool:
        """Checked by llama.cpp between graph nodes and by the sampler after every token."""
        return self._cancel.is_set() or time.monotonic() > self._deadline

    def cancel(self) -> None:
        self._cancel.set()

    def acquire(self, wait_s: float | None = None) -> bool:
        """Takes the context, stopping a generation that still holds it: turns come one at a time,
        so a holder is one its caller gave up on (a turn timeout)."""
        if self._lock.acquire(blocking=False):
            return True
        self._cancel.set()
        return self._lock.acquire(timeout=RELEASE_WAIT_S if wait_s is None else wait_s)

    def release(self) -> None:
        self._lock.release()

    @contextmanager
    def turn(self, deadline: float) -> Iterator[None]:
        if not self.acquire():
            raise ContextPoisoned(f"the previous generation still runs after {RELEASE_WAIT_S:g}s")
        self._cancel.clear()
        self._deadline = deadline
        try:
            yield
        finally:
            self._deadline = float("inf")
            self._lock.release()
