"""Constrained decoding: a GBNF grammar that admits exactly one ``<tool_call>`` block whose JSON
matches one tool of the session, verified to compile in llama.cpp before it is used."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import ModuleType
from typing import Any

WRAPPER = 'root ::= "<tool_call>\\n" call "\\n</tool_call>"\n'


def gbnf_for(schema_json: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    body = json_schema_to_gbnf(schema_json)
    # The converter names its start rule `root`; ours wraps it in the strict tool-call markers.
    renamed = "\n".join(
        "call ::=" + line[len("root ::=") :] if line.startswith("root ::=") else line for line in body.splitlines()
    )
    return WRAPPER + renamed + "\n"


@dataclass
class ToolGrammar:
    grammar: Any  # llama_cpp.LlamaGrammar, or None when it did not compile
    status: str  # "compiled" or "failed: reason" (recorded: llama-cpp-python would not say)
    gbnf: str = ""

    @property
    def compiled(self) -> bool:
        return self.status == "compiled"

    @classmethod
    def build(cls, schema_json: str, llm: Any, llama_cpp: ModuleType) -> ToolGrammar:
        from llama_cpp.llama_grammar import LlamaGrammar

        try:
            json.loads(schema_json)
            gbnf = gbnf_for(schema_json)
        except Exception as exc:  # the converter raises bare Exceptions on unsupported schemas
            return cls(None, f"failed: schema not convertible ({type(exc).__name__}: {exc})")
        # llama.cpp returns NULL for a grammar it cannot parse, and llama-cpp-python would add that
        # NULL sampler anyway: try it here first.
        sampler = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, gbnf.encode(), b"root")
        if not sampler:
            return cls(None, "failed: llama.cpp rejected the grammar", gbnf)
        llama_cpp.llama_sampler_free(sampler)
        return cls(LlamaGrammar.from_string(gbnf, verbose=False), "compiled", gbnf)
