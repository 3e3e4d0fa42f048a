"""A one-time check, in a child process, that the native llama.cpp library loads a model and
generates. A wheel built for another CPU dies of SIGILL (or a broken build of SIGSEGV/SIGBUS) inside
the process that loads it; probed in a child first, that becomes a setup error of the student's
items instead of the death of the whole run."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..engine.cachenote import cache_folder
from ..engine.student import StudentError, warn_user

REBUILD_HINT = "./run setup --rebuild-llama"
PROBE_TIMEOUT_S = 300.0

# Runs in the child: load, then a few tokens, which exercises the matmul kernels a bad build lacks.
_PROBE = """
import sys
import llama_cpp
import llama_cpp.llama_chat_format as formats
class Skip:  # Llama() would compile the GGUF's chat templates: not the build under test
    def __init__(self, **kwargs): pass
    def to_chat_handler(self): return None
formats.Jinja2ChatFormatter = Skip
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=128, n_gpu_layers=int(sys.argv[2]), verbose=False, seed=0)
out = llm.create_completion("Hello", max_tokens=4, temperature=0.0)
print(len(out["choices"][0]["text"]) >= 0)
"""


@dataclass(frozen=True)
class Library:
    """The installed llama_cpp package, found without importing it (importing loads the library)."""

    directory: Path
    version: str
    digest: str  # of its shared libraries: a rebuilt wheel is a new library

    def describe(self) -> str:
        return f"llama-cpp-python {self.version} at {self.directory}"


@functools.cache
def installed_library() -> Library | None:
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        return None
    directory = Path(spec.origin).parent
    digest = hashlib.sha256()
    for lib in sorted(directory.rglob("*.so*")) + sorted(directory.rglob("*.dylib")):
        digest.update(lib.name.encode())
        digest.update(lib.read_bytes())
    try:
        from importlib.metadata import version

        installed = version("llama-cpp-python")
    except Exception:  # a llama_cpp without its distribution metadata (a source checkout)
        installed = "unknown"
    return Library(directory, installed, digest.hexdigest()[:16])


def _cache_dir() -> Path:
    return cache_folder("native-probe")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _crash_message(library: Library, model: Path, number: int) -> str:
    name = _signal_name(number)
    cause = {
        "SIGILL": "the library uses CPU instructions this processor lacks (built on or for another CPU)",
        "SIGSEGV": "the library crashed (a broken build, or a model file it cannot handle)",
        "SIGBUS": "the library crashed reading memory (a truncated model file, or a broken build)",
    }.get(name, "the native library crashed")
    return (
        f"llama.cpp died of {name} loading {model.name} and generating in a probe process: {cause}. "
        f"Library: {library.describe()}. Fix: {REBUILD_HINT} (builds for this CPU)"
    )


def probe(model: Path, n_gpu_layers: int, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Raises StudentError if a child process dies loading `model` and generating a few tokens.
    Each (library, model file) pair is probed once; success and crashes are cached on disk."""
    library = installed_library()
    if library is None:
        return  # the in-process import reports the missing package with its own fix
    stat = model.stat()
    key = hashlib.sha256(
        json.dumps([library.digest, str(model), stat.st_size, stat.st_mtime_ns, n_gpu_layers]).encode()
    ).hexdigest()[:24]
    cached = _cache_dir() / f"{key}.json"
    try:
        verdict = json.loads(cached.read_text())
    except (OSError, ValueError):
        verdict = _run_probe(model, n_gpu_layers, timeout_s)
        if verdict is not None:
            _save(cached, verdict)
    if verdict and verdict.get("signal"):
        raise StudentError(_crash_message(library, model, int(verdict["signal"])))


def _save(cached: Path, verdict: dict[str, int]) -> None:
    """A cache that cannot be written (read-only home, full disk) costs a probe per process, said
    once, never the run."""
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(verdict))
        tmp.replace(cached)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if not _UNSAVED:
            _UNSAVED.append(cached.parent)
            warn_user(
                f"native-probe cache {cached.parent} cannot be written ({exc.strerror or exc}): "
                "probing without saving (set XDG_CACHE_HOME to a writable folder)"
            )


_UNSAVED: list[Path] = []  # the one warning per process


def _run_probe(model: Path, n_gpu_layers: int, timeout_s: float) -> dict[str, int] | None:
    """{"signal": N} for a crash, {"signal": 0} for a clean run, None when inconclusive (a Python
    error or a timeout says nothing about the build: the in-process load reports those itself)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, str(model), str(n_gpu_layers)],
            capture_output=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        )
    except (subprocess.TimeoutExpired, OSError):
        return None
    if done.returncode < 0:
        return {"signal": -done.returncode}
    return {"signal": 0} if done.returncode == 0 else None
