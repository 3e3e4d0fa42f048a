"""The built-in student schemes, registered through ``pytest_arena_make_student`` like any plugin's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pluggy

from ..options import OPTIONS_KEY
from .base import Student
from .scripted import ReferenceStudent, ScriptedStudent

hookimpl = pluggy.HookimplMarker("pytest")


def _path(config: Any, raw: str) -> Path:
    path = Path(raw).expanduser()
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


def _llama(config: Any, path: Path, name: str) -> Student:
    from .llama_cpp import LlamaCppStudent

    options = config.stash[OPTIONS_KEY]
    return LlamaCppStudent(path, name=name, n_gpu_layers=options.gpu_layers, n_ctx=options.n_ctx,
                           main_gpu=worker_gpu(config, options.gpus), single_gpu=bool(options.gpus))


@hookimpl(trylast=True)
def pytest_arena_make_student(config: Any, spec: str) -> Student | None:
    scheme, _, rest = spec.partition(":")
    if spec == "reference":
        return ReferenceStudent()
    if scheme == "scripted":
        return ScriptedStudent(_path(config, rest))
    if spec == "default":
        from .llama_cpp import default_model_path

        return _llama(config, default_model_path(), student_label(spec))
    if scheme == "llama":
        return _llama(config, _path(config, rest), student_label(spec))
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
        return "scripted-" + Path(rest).stem
    if scheme == "llama":
        return Path(rest).stem.lower()
    if scheme == "openai":
        return rest.rpartition("#")[2] or "openai"
    return "".join(ch if ch.isalnum() or ch in "._" else "-" for ch in spec).strip("-")
