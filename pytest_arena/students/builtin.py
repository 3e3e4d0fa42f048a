"""The built-in student schemes, registered through ``pytest_arena_make_student`` like any plugin's."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pluggy

from ..engine.student import Student
from .schemes import LoadSettings, loads_gguf, lookup

hookimpl = pluggy.HookimplMarker("pytest")


class BuiltinStudents:
    """The built-in schemes' ``pytest_arena_make_student``; the glue registers one, made with the
    load settings it read from the options (students/ never reads the options itself)."""

    def __init__(self, load: LoadSettings) -> None:
        self.load = load

    @hookimpl(trylast=True)
    def pytest_arena_make_student(self, config: Any, spec: str) -> Student | None:
        found = lookup(spec)
        return found[0].make(config, found[1], self.load) if found else None


def student_label(spec: str) -> str:
    """A short readable name for item ids, known without loading anything."""
    found = lookup(spec)
    if found:
        return found[0].label(found[1])
    scheme, _, rest = spec.partition(":")
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
    found = lookup(spec)
    if found is None or found[0].facts is None:
        return {}
    return found[0].facts(config, found[1])


def offload_warning(asked: bool, gpu_layers: int, students: tuple[str, ...]) -> str | None:
    """One line when GPU layers were asked for (``asked``: the option given, not the default) but
    this llama-cpp-python build cannot offload: the layers then silently stay on the CPU."""
    if not asked or gpu_layers == 0 or not any(loads_gguf(s) for s in students):
        return None
    try:
        import llama_cpp
    except ImportError:
        return None  # each item names the missing package
    if llama_cpp.llama_supports_gpu_offload():
        return None
    return (
        f"--arena-gpu-layers {gpu_layers}: this llama-cpp-python build has no GPU offload; "
        "every layer runs on the CPU (rebuild with ARENA_CUDA=1 ./run setup for a CUDA build)"
    )
