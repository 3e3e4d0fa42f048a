"""The one registry of built-in student schemes: name -> make, label, static facts, help form.

A spec is either a bare word (``reference``, ``default``) or ``scheme:REST``. Every place that
needs to know the schemes (the make hook, item labels, static facts, the option help, the pool's
error) reads this table, so a new scheme is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.student import Student, StudentError
from .scripted import ReferenceStudent, ScriptedStudent

Config = Any  # a pytest.Config; kept Any so this module imports no pytest


@dataclass(frozen=True)
class Scheme:
    name: str
    form: str  # how the option help and error messages write it
    make: Callable[[Config, str], Student]  # (config, the text after the colon)
    label: Callable[[str], str]  # the text after the colon -> a short name for item ids
    facts: Callable[[Config, str], dict[str, Any]] | None = None  # known without loading the student
    bare: bool = False  # the spec is the name alone, with no colon


def resolve_path(config: Config, raw: str, scheme: str = "") -> Path:
    if scheme and not raw.strip():
        raise StudentError(f"'{scheme}:' needs a file after the colon: --arena-student {SCHEMES[scheme].form}")
    path = Path(raw).expanduser()
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


def worker_gpu(config: Config, gpus: tuple[int, ...]) -> int:
    """With --arena-gpus, pytest-xdist worker gwN gets GPU gpus[N % len(gpus)] (whole model on it)."""
    if not gpus:
        return 0
    worker = getattr(config, "workerinput", {}).get("workerid", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    return gpus[index % len(gpus)]


def _llama_at(config: Config, path: Path, name: str) -> Student:
    from ..options import OPTIONS_KEY
    from .llama_cpp import LlamaCppStudent

    options = config.stash[OPTIONS_KEY]
    return LlamaCppStudent(
        path,
        name=name,
        n_gpu_layers=options.gpu_layers,
        n_ctx=options.n_ctx,
        main_gpu=worker_gpu(config, options.gpus),
        single_gpu=bool(options.gpus),
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


def _openai(config: Config, rest: str) -> Student:
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
            make=lambda config, _: _llama_at(config, _default_path(), "smollm2-135m"),
            label=lambda _: "smollm2-135m",
            facts=lambda config, _: _gguf_facts(None, ""),
            bare=True,
        ),
        Scheme(
            "reference", "reference", make=lambda config, _: ReferenceStudent(), label=lambda _: "reference", bare=True
        ),
        Scheme(
            "scripted",
            "scripted:PATH.json",
            make=lambda config, rest: ScriptedStudent(resolve_path(config, rest, "scripted")),
            label=lambda rest: "scripted-" + Path(rest).stem if Path(rest).stem else "scripted",
        ),
        Scheme(
            "llama",
            "llama:PATH.gguf",
            make=lambda config, rest: _llama_at(
                config, resolve_path(config, rest, "llama"), Path(rest).stem.lower() or "llama"
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


def forms() -> str:
    """The spec forms for help and errors: 'default, reference, scripted:PATH.json, ...'."""
    return ", ".join(scheme.form for scheme in SCHEMES.values())
