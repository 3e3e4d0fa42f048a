"""The built-in student schemes, registered through ``pytest_arena_make_student`` like any plugin's."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pluggy

from ..engine.student import Student, StudentError
from ..options import OPTIONS_KEY
from .scripted import ReferenceStudent, ScriptedStudent

hookimpl = pluggy.HookimplMarker("pytest")


FORMS = {"scripted": "scripted:PATH.json", "llama": "llama:PATH.gguf"}


def _path(config: Any, raw: str, scheme: str = "") -> Path:
    if scheme and not raw.strip():
        raise StudentError(f"'{scheme}:' needs a file after the colon: --arena-student {FORMS[scheme]}")
    path = Path(raw).expanduser()
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


def _llama(config: Any, path: Path, name: str) -> Student:
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


@hookimpl(trylast=True)
def pytest_arena_make_student(config: Any, spec: str) -> Student | None:
    scheme, _, rest = spec.partition(":")
    if spec == "reference":
        return ReferenceStudent()
    if scheme == "scripted":
        return ScriptedStudent(_path(config, rest, scheme))
    if spec == "default":
        from .llama_cpp import default_model_path

        return _llama(config, default_model_path(), student_label(spec))
    if scheme == "llama":
        return _llama(config, _path(config, rest, scheme), student_label(spec))
    if scheme == "openai":
        from .openai_http import OpenAIStudent

        return OpenAIStudent.from_spec(rest, name=student_label(spec))
    return None


def worker_gpu(config: Any, gpus: tuple[int, ...]) -> int:
    """With --arena-gpus, pytest-xdist worker gwN gets GPU gpus[N % len(gpus)] (whole model on it)."""
    if not gpus:
        return 0
    worker = getattr(config, "workerinput", {}).get("workerid", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    return gpus[index % len(gpus)]


def student_label(spec: str) -> str:
    """A short readable name for item ids, known without loading anything."""
    scheme, _, rest = spec.partition(":")
    if spec in {"reference", "default"}:
        return {"reference": "reference", "default": "smollm2-135m"}[spec]
    if scheme == "scripted":
        return "scripted-" + Path(rest).stem if Path(rest).stem else "scripted"
    if scheme == "llama":
        return Path(rest).stem.lower() or "llama"
    if scheme == "openai":
        return rest.rpartition("#")[2] or "openai"
    if "/" in rest or "." in Path(rest).name:  # a plugin scheme naming a file: scheme-stem
        return f"{scheme}-{Path(rest.partition('#')[0]).stem}"
    return "".join(ch if ch.isalnum() or ch in "._" else "-" for ch in spec).strip("-")


def student_labels(specs: tuple[str, ...]) -> dict[str, str]:
    """Labels for a campaign's students, made unique: two GGUFs or scripts with the same file name
    in different folders must not share item ids, trajectories or JUnit names."""
    labels = {spec: student_label(spec) for spec in specs}
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {
        spec: label if counts[label] == 1 else f"{label}-{hashlib.sha1(spec.encode()).hexdigest()[:6]}"
        for spec, label in labels.items()
    }


def static_info(config: Any, spec: str) -> dict[str, Any]:
    """What can be said about a student without loading it (for items that fail at setup)."""
    scheme, _, rest = spec.partition(":")
    if scheme != "llama" and spec != "default":
        return {}
    from .gguf_meta import GGUFError, read_metadata

    try:
        if spec == "default":
            from .llama_cpp import default_model_path

            path = default_model_path()
        else:
            path = _path(config, rest)
        meta = read_metadata(path)
    except (GGUFError, OSError, StudentError):
        return {"backend": "llama_cpp", "model_file": rest}
    return {
        "backend": "llama_cpp",
        "model_file": str(path),
        "gguf_name": meta.get("general.name", ""),
        "gguf_architecture": meta.get("general.architecture", ""),
    }


def offload_warning(config: Any, options: Any) -> str | None:
    """One line when GPU layers were asked for (the option given, not the default) but this
    llama-cpp-python build cannot offload: the layers then silently stay on the CPU."""
    asked = config.getoption("arena_gpu_layers") is not None or str(config.getini("arena-gpu-layers")) != "-1"
    llama = [s for s in options.students if s == "default" or s.startswith("llama:")]
    if not asked or options.gpu_layers == 0 or not llama:
        return None
    try:
        import llama_cpp
    except ImportError:
        return None  # each item names the missing package
    if llama_cpp.llama_supports_gpu_offload():
        return None
    return (
        f"--arena-gpu-layers {options.gpu_layers}: this llama-cpp-python build has no GPU offload; "
        "every layer runs on the CPU (rebuild with ARENA_CUDA=1 ./run setup for a CUDA build)"
    )
