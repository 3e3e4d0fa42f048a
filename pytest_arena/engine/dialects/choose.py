"""Which dialect a session speaks: the option, else the markers of the student's chat template (as
llama.cpp's common/chat.cpp detects them), else the arena's own; recorded with the reason."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..protocol import ToolCall
from . import DIALECTS
from .base import Dialect


def detected_in_order() -> list[Dialect]:
    """The dialects a template can be detected as, in the order they are tried."""
    return sorted((d for d in DIALECTS.values() if d.template_markers), key=lambda d: d.detect_rank)


def detect(template: str) -> tuple[str | None, str]:
    """(dialect, the markers found) from a chat template's text."""
    candidates = detected_in_order()
    for dialect in candidates:
        for markers in dialect.template_markers:
            if all(marker in template for marker in markers):
                return dialect.name, "template has " + " and ".join(markers)
    shown = ", ".join(dialect.markers_shown() for dialect in candidates)
    return None, f"template has no tool-call markers ({shown})"


def template_sha256(template: str | None) -> str:
    return hashlib.sha256(template.encode()).hexdigest() if template else ""


@dataclass(frozen=True)
class DialectChoice:
    name: str  # the dialect calls are parsed with ("native": the server's tool_calls)
    source: str  # "option", "template", "backend" (an openai: student's native calls), or "fallback"
    reason: str
    native_template: bool = False  # the student's own chat template renders tools, calls and results
    native_api: bool = False  # tools/tool_calls/role tool over an OpenAI-compatible API
    template_sha256: str = ""

    def record(self) -> dict[str, str]:
        facts = {"source": self.source, "reason": self.reason, "template_sha256": self.template_sha256}
        return {"dialect": self.name} | {f"dialect_{key}": value for key, value in facts.items()}


def choose(requested: str, template: str | None, native_api: bool, blocked: str = "") -> DialectChoice:
    """``template``: the student's chat template (None when it has none); ``native_api``: the student
    can send tools and read tool_calls (openai:); ``blocked``: why its server would show the model
    no tools sent natively (its own report), '' when it would."""
    digest = template_sha256(template)
    detected, why = detect(template) if template else (None, "student has no chat template of its own")
    if requested == "native" or (requested == "auto" and native_api):
        if not native_api:
            raise ValueError("the native dialect needs an openai: student")
        if blocked:  # native calls would be parsed, but the model would never see the tools' schemas
            fallback = detected or "arena"
            asked = "--arena-dialect native; " if requested == "native" else ""
            reason = f"{asked}{blocked}: the {fallback} dialect describes the tools in the prompt"
            return DialectChoice(fallback, "fallback", reason, False, False, digest)
        source = "option" if requested == "native" else "backend"
        return DialectChoice("native", source, "server-side function calling (tools / tool_calls)", False, True)
    if requested == "auto":
        if detected is None:
            return DialectChoice("arena", "fallback", why, False, False, digest)
        return DialectChoice(detected, "template", why, True, False, digest)
    if requested not in DIALECTS:
        raise ValueError(f"unknown dialect {requested!r}")
    native = detected == requested
    reason = f"--arena-dialect {requested}; " + ("the template speaks it" if native else why)
    return DialectChoice(requested, "option", reason, native, False, digest)


def render_for(choice: DialectChoice, calls: list[ToolCall]) -> str:
    """Calls as a student speaking ``choice`` writes them (scripted and reference students)."""
    name = choice.name if choice.name in DIALECTS else "hermes"
    return DIALECTS[name].render_calls(calls)
