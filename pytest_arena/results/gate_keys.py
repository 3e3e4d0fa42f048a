"""A gate's select keys checked against the input: a key that no record has at all (a typo such as
``studnet``) is a mistake in the gates file, not an absence of evidence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..engine.scheme_traits import record_keys
from .record import ItemRecord

ALIASES = {"class": "fixture_class"}


def known_keys(records: list[ItemRecord]) -> set[str]:
    """Record fields, and student_info keys: those in the input and every one a built-in scheme
    records (selecting on one is meaningful even when this input holds no such student: V1_004 on
    a reference run has NO EVIDENCE, it is not misconfigured)."""
    fields = {name for name in ItemRecord.model_fields if name != "student_info"} | set(ALIASES)
    info = {key for record in records for key in record.student_info} | record_keys()
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
