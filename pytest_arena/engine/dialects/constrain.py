"""The JSON schema of one call for ``--arena-constrain``, per dialect. The grammar wraps it in
``<tool_call>`` (students/grammar.py), so only the JSON dialects that use that block have one."""

from __future__ import annotations

import json
from collections.abc import Iterable

from ..tools import ToolSpec, call_schema
from . import DIALECTS


def constrained_schema(dialect: str, specs: Iterable[ToolSpec]) -> str | None:
    """None: no grammar for this dialect (the session then runs unconstrained and says so)."""
    found = DIALECTS.get(dialect)  # "native": the server's own tool calls, no grammar
    key = found.argument_key if found is not None else None
    if key is None:
        return None
    schema = call_schema(list(specs))
    if key == "input":
        return schema
    data = json.loads(schema)
    for one in data.get("oneOf", [data]):  # the same schema, the arguments under the dialect's own key
        one["properties"][key] = one["properties"].pop("input")
        one["required"] = [key if r == "input" else r for r in one["required"]]
    return json.dumps(data)
