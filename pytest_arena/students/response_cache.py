"""The response cache (``--arena-cache``): every generation kept on disk under the XDG cache folder,
keyed by who answers (the student's identity), what it is sent (the exact rendered prompt, or the
messages and tools of a request) and how it samples (every StudentConfig setting, the seed among
them), so a resumed or re-scored campaign replays its answers instead of generating them again.
A seed sweep stays honest: another seed is another key.

Like the arena's other disk caches it is only a speed-up: an entry that cannot be read is a miss,
and a cache folder that cannot be written is computed without saving, said once."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from ..engine.cachenote import cache_folder, unwritable
from ..engine.corpus import FixtureSpec
from ..engine.student import (
    FinishReason,
    GenerationResult,
    Message,
    Student,
    StudentBase,
    StudentConfig,
    with_capabilities,
)

FORMAT = 1  # bumped when a key's parts or an entry's fields change: older entries then miss
MAX_ENTRY_BYTES = 4 << 20  # one generation past this is not stored (a runaway turn, not an answer)
# What a student's describe() says about who answers: its model and how that model is run. A student
# naming none of the model keys (the reference, a plugin's that says nothing) is not cached.
IDENTITY_KEYS = ("backend", "model_sha256", "chat_template_sha256", "n_ctx", "url", "model", "script_sha256")
MODEL_KEYS = frozenset({"model_sha256", "model", "script_sha256"})
UNKEYED_SETTINGS = frozenset({"turn_timeout_s"})  # a limit on waiting, not on what is generated
UNSTORED_FINISH: frozenset[FinishReason] = frozenset({"timeout"})  # cut by the clock: not a replayable answer


def cache_dir() -> Path:
    return cache_folder("responses")


@runtime_checkable
class RendersPrompt(Protocol):
    """A student that renders its own prompt text (a GGUF's chat template): that text is its key."""

    def render(self, messages: list[Message], tools: Sequence[object] = ()) -> str: ...


def identity(student: Student) -> dict[str, object] | None:
    """Who answers, from what ``describe()`` reports (a scripted student: its script's content);
    None when it names no model, so its answers are never replayed for another's."""
    info = dict(student.describe())
    script = info.get("script")
    if info.get("backend") == "scripted" and isinstance(script, str):
        try:
            info["script_sha256"] = hashlib.sha256(Path(script).read_bytes()).hexdigest()
        except OSError:
            return None
    found = {key: info[key] for key in IDENTITY_KEYS if key in info}
    return found if MODEL_KEYS & found.keys() else None


def prompt_of(student: Student, messages: list[Message], config: StudentConfig) -> str:
    """The exact text the student is sent: its rendered template, or the messages and tools."""
    if isinstance(student, RendersPrompt):
        return student.render(messages, config.tools)
    return json.dumps({"messages": messages, "tools": config.tools}, sort_keys=True, default=str)


def settings_of(config: StudentConfig) -> dict[str, object]:
    """Every setting that shapes a generation (a field added to StudentConfig joins by itself)."""
    kept = {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name not in UNKEYED_SETTINGS}
    kept["repetition_stop"] = config.repetition_stop.spec() if config.repetition_stop else "off"
    return kept


class Entry(BaseModel):
    """One stored generation. Strict: a hand-edited or damaged file fails here and is a miss."""

    model_config = ConfigDict(strict=True)

    format: int
    key: str
    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    prefill_tokens: int
    completion_tokens: int
    seconds: float
    prompt_text: str
    tool_calls: list[dict[str, JsonValue]]
    extra: dict[str, JsonValue]


class ResponseCache:
    """Entries as ``<root>/<key[:2]>/<key>.json``, each written whole (a temporary file renamed)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_dir()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> GenerationResult | None:
        try:
            entry = Entry.model_validate_json(self.path(key).read_bytes())
        except (OSError, ValidationError):
            return None
        if entry.format != FORMAT or entry.key != key:  # another version's, or a file copied under this name
            return None
        fields = entry.model_dump(exclude={"format", "key"})
        return GenerationResult(**fields, cached=True)

    def put(self, key: str, result: GenerationResult) -> None:
        if result.finish_reason in UNSTORED_FINISH:
            return
        entry = {"format": FORMAT, "key": key} | {
            f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.name != "cached"
        }
        try:
            data = json.dumps(entry).encode()
        except (TypeError, ValueError):  # a backend's extra that JSON cannot hold: not replayable
            return
        if len(data) > MAX_ENTRY_BYTES:
            return
        path = self.path(key)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(data)
            os.replace(temporary, path)  # two workers storing one key both write it whole
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            unwritable("response", self.root, exc)


class CachedStudent(StudentBase):
    """A student whose every generation goes through the cache: a hit is replayed (marked
    ``cached``, its seconds the lookup's), a miss generated and stored."""

    def __init__(self, inner: Student, cache: ResponseCache, who: dict[str, object]) -> None:
        self.inner, self.cache = with_capabilities(inner), cache
        self.name = inner.name
        self.chat_template_text = self.inner.chat_template_text
        self.native_tools = self.inner.native_tools
        self._who = json.dumps(who, sort_keys=True, default=str)
        self._fixture = ""

    def start(self, fixture: FixtureSpec, config: StudentConfig) -> None:
        self._fixture = fixture.id  # a scripted student's turns are the fixture's
        self.inner.start(fixture, config)

    def key(self, messages: list[Message], config: StudentConfig) -> str:
        parts = {
            "format": FORMAT,
            "student": self._who,
            "fixture": self._fixture,
            "prompt": prompt_of(self.inner, messages, config),
            "settings": settings_of(config),
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()

    def generate(self, messages: list[Message], config: StudentConfig) -> GenerationResult:
        started = time.monotonic()
        key = self.key(messages, config)
        found = self.cache.get(key)
        if found is not None:
            found.seconds = time.monotonic() - started
            return found
        result = self.inner.generate(messages, config)
        self.cache.put(key, result)
        return result

    def describe(self) -> dict[str, object]:
        return dict(self.inner.describe())

    def native_tools_blocked(self) -> str:
        return self.inner.native_tools_blocked()

    def cancel(self) -> None:
        self.inner.cancel()

    def close(self) -> None:
        self.inner.close()


def cached(student: Student, cache: ResponseCache) -> Student:
    """``student`` answering through ``cache``, or itself when it names no model to key on."""
    who = identity(student)
    return student if who is None else CachedStudent(student, cache, who)
