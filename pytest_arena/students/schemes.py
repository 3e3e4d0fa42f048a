"""The one registry of built-in student schemes: name -> make, label, static facts, help form,
traits.

A spec is either a bare word (``reference``, ``default``) or ``scheme:REST``. Every place that
needs to know the schemes (the make hook, item labels, static facts, the option help, the pool's
error, --arena-dialect native, the offload warning) reads this table. A new scheme is one entry
here plus its traits in engine/scheme_traits.py, where results/ can read them too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.scheme_traits import TRAITS, SchemeTraits
from ..engine.student import Student, StudentError
from .scripted import ReferenceStudent, ScriptedStudent
from .threads import llama_threads

Config = Any  # a pytest.Config; kept Any so this module imports no pytest


@dataclass(frozen=True)
class LoadSettings:
    """How an in-process GGUF loads: the glue reads the options and passes these in."""

    gpu_layers: int = -1
    n_ctx: int = 0
    gpus: tuple[int, ...] = ()
    worker: int = 0  # this process's pytest-xdist worker number (gwN), 0 without -n
    workers: int = 1  # the run's number of xdist workers, 1 without -n
    threads: int = 0  # --arena-threads; 0: the cores this process may use / workers

    @property
    def n_threads(self) -> int:
        """The CPU threads a GGUF computes with in this process (see students/threads.py)."""
        return llama_threads(self.workers, chosen=self.threads)

    @property
    def main_gpu(self) -> int:
        """With --arena-gpus, worker gwN gets GPU gpus[N % len(gpus)] (the whole model on it)."""
        return self.gpus[self.worker % len(self.gpus)] if self.gpus else 0


@dataclass(frozen=True)
class Scheme:
    name: str
    form: str  # how the option help and error messages write it
    make: Callable[[Config, str, LoadSettings], Student]  # (config, the text after the colon, load settings)
    label: Callable[[str], str]  # the text after the colon -> a short name for item ids
    facts: Callable[[Config, str], dict[str, Any]] | None = None  # known without loading the student
    bare: bool = False  # the spec is the name alone, with no colon

    @property
    def traits(self) -> SchemeTraits:
        return TRAITS[self.name]


def resolve_path(config: Config, raw: str, scheme: str = "") -> Path:
    if scheme and not raw.strip():
        raise StudentError(f"'{scheme}:' needs a file after the colon: --arena-student {SCHEMES[scheme].form}")
    path = Path(raw).expanduser()
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


def _llama_at(config: Config, load: LoadSettings, path: Path, name: str) -> Student:
    from .llama_cpp import LlamaCppStudent

    return LlamaCppStudent(
        path,
        name=name,
        n_gpu_layers=load.gpu_layers,
        n_ctx=load.n_ctx,
        main_gpu=load.main_gpu,
        single_gpu=bool(load.gpus),
        n_threads=load.n_threads,
    )


def _default_path() -> Path:
    from .llama_cpp import default_model_path

    return default_model_path()


def _gguf_facts(path: Path | None, raw: str) -> dict[str, Any]:
    from .gguf_meta import GGUFError, read_metadata

    try:
        path = path or _default_path()
        meta = read_metadata(path)
    except (GGUFError, OSError, StudentError):
        return {"backend": "llama_cpp", "model_file": raw}
    return {
        "backend": "llama_cpp",
        "model_file": str(path),
        "gguf_name": meta.get("general.name", ""),
        "gguf_architecture": meta.get("general.architecture", ""),
    }


def _openai(config: Config, rest: str, load: LoadSettings) -> Student:
    try:
        from .openai_http import OpenAIStudent
    except ModuleNotFoundError as exc:
        if exc.name != "httpx":
            raise
        raise StudentError("openai: students need httpx: pip install 'pytest-arena[openai]'") from None

    return OpenAIStudent.from_spec(rest, name=_openai_label(rest))


def _openai_label(rest: str) -> str:
    return rest.rpartition("#")[2] or "openai"


SCHEMES: dict[str, Scheme] = {
    scheme.name: scheme
    for scheme in (
        Scheme(
            "default",
            "default",
            make=lambda config, _, load: _llama_at(config, load, _default_path(), "smollm2-135m"),
            label=lambda _: "smollm2-135m",
            facts=lambda config, _: _gguf_facts(None, ""),
            bare=True,
        ),
        Scheme(
            "reference",
            "reference",
            make=lambda config, _, load: ReferenceStudent(),
            label=lambda _: "reference",
            bare=True,
        ),
        Scheme(
            "scripted",
            "scripted:PATH.json",
            make=lambda config, rest, load: ScriptedStudent(resolve_path(config, rest, "scripted")),
            label=lambda rest: "scripted-" + Path(rest).stem if Path(rest).stem else "scripted",
        ),
        Scheme(
            "llama",
            "llama:PATH.gguf",
            make=lambda config, rest, load: _llama_at(
                config, load, resolve_path(config, rest, "llama"), Path(rest).stem.lower() or "llama"
            ),
            label=lambda rest: Path(rest).stem.lower() or "llama",
            facts=lambda config, rest: _gguf_facts(resolve_path(config, rest), rest),
        ),
        Scheme("openai", "openai:URL#MODEL", make=_openai, label=_openai_label),
    )
}


def lookup(spec: str) -> tuple[Scheme, str] | None:
    """The built-in scheme a spec names and the text after its colon, or None (a plugin's)."""
    scheme = SCHEMES.get(spec)
    if scheme is not None and scheme.bare:
        return scheme, ""
    name, colon, rest = spec.partition(":")
    scheme = SCHEMES.get(name)
    if scheme is not None and colon and not scheme.bare:
        return scheme, rest
    return None


def text_only(spec: str) -> bool:
    """A built-in student that renders its own prompt text (no server-side function calling)."""
    found = lookup(spec)
    return found is not None and found[0].traits.text_only


def loads_gguf(spec: str) -> bool:
    """A built-in student that loads a GGUF in-process (--arena-gpu-layers applies)."""
    found = lookup(spec)
    return found is not None and found[0].traits.gpu_offload


def forms() -> str:
    """The spec forms for help and errors: 'default, reference, scripted:PATH.json, ...'."""
    return ", ".join(scheme.form for scheme in SCHEMES.values())
