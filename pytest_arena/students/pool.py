"""Students per process: made lazily, reused across items, one loaded model at a time."""

from __future__ import annotations

from collections.abc import Callable

from ..engine.student import Student, StudentError, with_capabilities
from .response_cache import ResponseCache, cached
from .schemes import forms


class StudentPool:
    """Caches the current student and every failure, so a model that cannot load costs one
    attempt per process and each of its items gets the same short error."""

    def __init__(self, make: Callable[[str], Student | None], cache: ResponseCache | None = None) -> None:
        self._make = make
        self._cache = cache  # --arena-cache: every student made here answers through it
        self._current: tuple[str, Student] | None = None
        self._failures: dict[str, str] = {}

    def get(self, spec: str) -> Student:
        if spec in self._failures:
            raise StudentError(self._failures[spec])
        if self._current and self._current[0] == spec:
            return self._current[1]
        self.release()
        try:
            student = self._make(spec)
        except StudentError as exc:
            self._failures[spec] = str(exc)
            raise
        if student is None:
            message = (
                f"no student backend understands '{spec}'; use {forms()}, "
                "or install the plugin that provides this scheme"
            )
            self._failures[spec] = message
            raise StudentError(message)
        if self._cache is not None:
            student = cached(student, self._cache)
        self._current = (spec, student)
        return student

    def release(self) -> None:
        if self._current is not None:
            with_capabilities(self._current[1]).close()
            self._current = None
