"""What each built-in student scheme declares before any student is made.

Several layers read these facts: the glue (``--arena-dialect native`` refuses a text-only
student; the offload warning looks at the GGUF schemes), a backend (the openai: student's native
calls) and ``results/`` (a gate may select a key these students record even when no record in the
input has it). ``results/`` imports no ``students/``, so the facts live here, dependency-free, and
``students/schemes.py`` joins each entry to its make, label and static facts by name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SchemeTraits:
    # Its students render their own prompt text: no server-side function calling.
    text_only: bool = True
    # Loads a GGUF in-process, so --arena-gpu-layers applies to it.
    gpu_offload: bool = False
    # The student_info keys its students record.
    record_keys: frozenset[str] = frozenset()


_GGUF_KEYS = frozenset(
    {
        "backend", "model_file", "model_sha256", "gguf_architecture", "gguf_name", "chat_template",
        "chat_template_sha256", "n_ctx", "n_gpu_layers", "gpu_offload_supported", "load_s", "grammar", "n_threads",
    }
)  # fmt: skip

TRAITS: dict[str, SchemeTraits] = {
    "default": SchemeTraits(gpu_offload=True, record_keys=_GGUF_KEYS),
    "reference": SchemeTraits(record_keys=frozenset({"student", "backend"})),
    "scripted": SchemeTraits(record_keys=frozenset({"student", "backend", "script"})),
    "llama": SchemeTraits(gpu_offload=True, record_keys=_GGUF_KEYS),
    "openai": SchemeTraits(
        text_only=False,
        record_keys=frozenset(
            {"backend", "url", "model", "grammar", "server_model", "server_model_path", "server_build", "server_tools"}
        ),
    ),
}


def record_keys() -> frozenset[str]:
    """Every student_info key a built-in scheme records."""
    return frozenset().union(*(traits.record_keys for traits in TRAITS.values()))
