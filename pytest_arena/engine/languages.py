"""The one registry of fixture languages: everything the engine knows about a language's projects.

A :class:`Language` says how its test runner's output is read (its ``test_format`` names), which
folders are build output or caches, which environment variables name its toolchain, how to install
its programs, what a student may edit by default and which files configure its build. The engine's
tables (ignored folders, warm caches, sandbox binds, the never-editable globs...) are all read from
here, so a new language is one :func:`register` call: the built-in Rust and Python are in
``builtin_languages.py``; a plugin registers its own through the ``pytest_arena_languages`` hook
(``examples/arena_bats_language`` is a worked example).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

Parser = Callable[[str], dict[str, str]]  # runner output -> test name -> passed | failed | skipped
# The language whose examples every system prompt shows: prompts are the same whatever the
# fixture's language, so a student's turns compare across the corpus.
PROMPT_LANGUAGE = "rust"
# A fixture's own folders, never scanned for further fixtures nor shown to students.
FIXTURE_DIRS = frozenset({"repo", "solution", "noncompliant", "hidden"})


@dataclass(frozen=True)
class PromptExamples:
    """The calls the system prompt, the tool table and the nudge show a student."""

    source: str  # a file to read and edit: src/lib.rs
    test_command: str  # a shell call that runs the tests
    test_word: str  # how the shell tool's description names the tests: cargo test
    old: str  # a file_edit's old and new text
    new: str


@dataclass(frozen=True)
class Language:
    name: str
    # The repo/ of a project in this language (Cargo.toml at its root); None: the fallback, for a
    # project no other language claims (Python).
    detect: Callable[[Path], bool] | None
    # What a student may change when meta.toml sets no ``editable``, read from the pristine tree.
    default_editable: Callable[[Path], list[str]]
    # meta.toml's ``test_format`` names -> their parsers; ``auto`` reads with every language's.
    parsers: Mapping[str, Parser] = field(default_factory=dict)
    build_dirs: tuple[str, ...] = ()  # build output in a project (target/): never shown, walked or digested
    warm_dirs: tuple[str, ...] = ()  # caches the warm cache copies into each workspace
    ignored_dirs: tuple[str, ...] = ()  # further folders never listed to a student nor diffed
    tool_homes: tuple[str, ...] = ()  # variables naming toolchain folders: passed through, bound in the sandbox
    home_defaults: tuple[tuple[str, str], ...] = ()  # (variable, folder under the home) when it is unset
    passed_env: tuple[str, ...] = ()  # further variables a toolchain needs, passed through
    command_env: Mapping[str, str] = field(default_factory=dict)  # set for every command
    # The variable a toolchain reads its build's parallel jobs from: set to a worker's share of
    # the cores under -n (commands.share_cores), left unset otherwise (the toolchain's default).
    jobs_env: str = ""
    install_hints: Mapping[str, str] = field(default_factory=dict)  # oracle program -> how to get it
    # tamper kind (editable.KIND_ORDER) -> globs of files that configure the build: never editable.
    never_editable: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    examples: PromptExamples | None = None
    # Run on a workspace the warm cache has just seeded: drops what the copied build holds that
    # names the folder it was built in, so the tool rebuilds that part here.
    relocated: Callable[[Path], None] | None = None
    # Whether a warm artifact (its path in the entry, "target/debug/deps/libx-0123.rlib") is one the
    # toolchain only ever replaces (unlink, then a new file), never rewrites in place: only those
    # may reach a workspace as hard links to the cache (engine/artifact_links.py).
    replaced: Callable[[str], bool] | None = None
    # arena-synth (pytest_arena.synth): the suffix of the source files it mutates, the contract
    # (meta.toml keys) a project in this language gets when it is not a fixture, and the project's
    # own name (the crate or package) for the prompt; no suffix: not synthesizable.
    source_suffix: str = ""
    synth_contract: Mapping[str, object] = field(default_factory=dict)
    project_name: Callable[[Path], str | None] | None = None


# Rust and Python are registered by the engine package's __init__ (builtin_languages imports
# modules that read this registry, so this module cannot import it), before any plugin's.
_REGISTRY: dict[str, Language] = {}


def register(language: Language) -> None:
    """Adds (or replaces, by name) a language."""
    _REGISTRY[language.name] = language


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def registered() -> tuple[Language, ...]:
    return tuple(_REGISTRY.values())


def language_of(repo: Path) -> Language:
    """The language of a fixture's repo/: the first that detects it, else the fallback."""
    languages = registered()
    found = next((lang for lang in languages if lang.detect is not None and lang.detect(repo)), None)
    fallback = next((lang for lang in languages if lang.detect is None), None)
    chosen = found or fallback
    if chosen is None:
        raise LookupError(f"no registered language claims {repo}")
    return chosen


def test_formats() -> dict[str, Parser]:
    """Every ``test_format`` name a fixture may give, in registration order."""
    return {name: parse for lang in registered() for name, parse in lang.parsers.items()}


def _joined(pick: Callable[[Language], tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for lang in registered() for name in pick(lang)))


def build_dirs() -> frozenset[str]:
    return frozenset(_joined(lambda lang: lang.build_dirs))


def warm_dirs() -> tuple[str, ...]:
    return _joined(lambda lang: lang.warm_dirs)


def replaced_output(rel: str) -> bool:
    """Whether some language says its toolchain only ever replaces this warm artifact."""
    return any(lang.replaced is not None and lang.replaced(rel) for lang in registered())


def ignored_dirs() -> frozenset[str]:
    """Folders a workspace never lists, copies back or diffs: git's, and every language's output."""
    return frozenset({".git"}) | frozenset(_joined(lambda lang: lang.build_dirs + lang.warm_dirs + lang.ignored_dirs))


def private_dirs() -> frozenset[str]:
    """Folders inside a fixture that are never scanned for further fixtures nor shown to students."""
    return FIXTURE_DIRS | build_dirs()


def tool_homes() -> tuple[str, ...]:
    return _joined(lambda lang: lang.tool_homes)


def passed_env() -> tuple[str, ...]:
    """Variables a toolchain needs to be found; everything else (tokens, secrets) stays in the parent."""
    return ("PATH", *_joined(lambda lang: lang.tool_homes + lang.passed_env))


def home_defaults() -> tuple[tuple[str, str], ...]:
    return tuple(pair for lang in registered() for pair in lang.home_defaults)


def command_env() -> dict[str, str]:
    return {key: value for lang in registered() for key, value in lang.command_env.items()}


def jobs_variables() -> tuple[str, ...]:
    return tuple(lang.jobs_env for lang in registered() if lang.jobs_env)


def install_hint(program: str) -> str | None:
    return next((lang.install_hints[program] for lang in registered() if program in lang.install_hints), None)


def never_editable(kind_order: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(kind, globs) in ``kind_order`` (kinds no language names are dropped, unknown ones come last)."""
    kinds = list(kind_order) + [k for lang in registered() for k in lang.never_editable if k not in kind_order]
    table = [(kind, tuple(g for lang in registered() for g in lang.never_editable.get(kind, ()))) for kind in kinds]
    return tuple((kind, globs) for kind, globs in dict.fromkeys(table) if globs)


def prompt_examples() -> PromptExamples:
    examples = {lang.name: lang.examples for lang in registered()}.get(PROMPT_LANGUAGE)
    if examples is None:
        raise LookupError(f"the prompt language {PROMPT_LANGUAGE!r} is not registered with examples")
    return examples
