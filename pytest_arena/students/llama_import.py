"""llama-cpp-python as the arena imports and loads it: two of its process-wide habits changed.

Both matter because a model may load on a thread (a reload after a turn timeout runs on the turn
thread, possibly one the session gave up on) while the session goes on printing and loading."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from types import ModuleType

from ..engine.student import StudentError

# One load at a time in a process: the formatter swap in loading() is module-global.
_LOADING = threading.Lock()


class _NoRedirect:
    """Stands in for llama-cpp-python's suppress_stdout_stderr, which points fds 1 and 2 and
    sys.stdout at /dev/null for the whole process while a model loads: the run's own output (its
    summary) printed meanwhile would vanish. Nothing is lost by not redirecting: with verbose=False
    llama.cpp's log callback already drops the load messages."""

    def __init__(self, disable: bool = True) -> None:
        pass

    def __enter__(self) -> _NoRedirect:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None


class _NoChatHandler:
    """Stands in for llama-cpp-python's Jinja2ChatFormatter while a model loads: Llama() compiles
    every template in the GGUF, and Jinja folds constants at compile time, so a template holding
    ``'x' * 3000000000`` would cost gigabytes in this process before any budget applies. The arena
    renders templates itself (TemplateProcess) and never asks llama-cpp-python to."""

    def __init__(self, **_kwargs: object) -> None:
        pass

    def to_chat_handler(self) -> None:
        return None


def import_llama() -> ModuleType:
    try:
        import llama_cpp
    except ImportError as exc:
        raise StudentError(
            f"llama-cpp-python is not installed ({exc}); run ./run setup, which builds "
            "it with the CPU flags the README gives (or ARENA_CUDA=1 for a CUDA build)"
        ) from None
    for module in (llama_cpp.llama, llama_cpp._internals, llama_cpp.llama_chat_format):
        if hasattr(module, "suppress_stdout_stderr"):
            setattr(module, "suppress_stdout_stderr", _NoRedirect)  # noqa: B010 (not a typed attribute)
    return llama_cpp


@contextlib.contextmanager
def loading(llama_cpp: ModuleType) -> Iterator[None]:
    """Around ``Llama(...)``: one load at a time, with llama-cpp-python's template compiler out."""
    formats = llama_cpp.llama_chat_format
    with _LOADING:
        original, formats.Jinja2ChatFormatter = formats.Jinja2ChatFormatter, _NoChatHandler
        try:
            yield
        finally:
            formats.Jinja2ChatFormatter = original
