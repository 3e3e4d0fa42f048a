"""A gate's select keys checked against the input: a key that no record has at all (a typo such as
``studnet``) is a mistake in the gates file, not an absence of evidence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .record import ItemRecord

ALIASES = {"class": "fixture_class"}
# What the built-in backends put in student_info (llama_cpp, openai_http, scripted): selecting on
# one of these is meaningful even when this input holds no such student (V1_004 on a reference run
# has NO EVIDENCE, it is not misconfigured).
BACKEND_KEYS = frozenset(
    {
        "backend", "model_file", "model_sha256", "gguf_architecture", "gguf_name", "chat_template",
        "chat_template_sha256", "n_ctx", "n_gpu_layers", "gpu_offload_supported", "load_s", "grammar",
        "url", "model", "script", "student",
    }
)  # fmt: skip


def known_keys(records: list[ItemRecord]) -> set[str]:
    fields = {name for name in ItemRecord.model_fields if name != "student_info"} | set(ALIASES)
    info = {key for record in records for key in record.student_info} | BACKEND_KEYS
    return fields | info | {f"student.{key}" for key in info}


def unknown_select_key(gates: Mapping[str, Any], records: list[ItemRecord]) -> str | None:
    """The first select key of ``gates`` (name -> GateSpec) that no record has, described; or None."""
    known = known_keys(records)
    for name, spec in gates.items():
        for key in spec.select:
            if key not in known:
                fields = sorted(k for k in known if k in ItemRecord.model_fields or k in ALIASES)
                return (
                    f"gate '{name}': select key '{key}' is not a field of any record in the input. "
                    f"Fix: use one of {', '.join(fields)} (or a student.* key the records carry)"
                )
    return None
