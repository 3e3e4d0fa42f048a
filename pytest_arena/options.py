"""Command-line options and ini keys of the arena, read into one typed settings object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from .dialect_option import dialect_option
from .engine.dialects import CHOICES
from .engine.repetition import RepetitionRule
from .engine.session import SessionSettings
from .engine.shard import Shard
from .engine.student import StudentConfig
from .option_types import PARSERS, OptionError, argparse_type
from .students import schemes
from .xdist_role import is_worker

DEFAULT_STUDENT = "default"
# Defaults whose home is the engine: the option table shows them, read_options falls back to them.
TURN_TIMEOUT_S = StudentConfig().turn_timeout_s
TEXT_LOOP_LIMIT = SessionSettings().text_loop_limit
WORKSPACE_QUOTA = "4G"

_ALWAYS = object()


@dataclass(frozen=True)
class Option:
    """One ``--arena-x`` option and its ini key ``arena_x``.

    Each says what it does to an item's result: ``result`` names the setting it changes (a key of
    the item's effective settings, see ArenaItem.resume_key), and every such setting joins the
    resume key, so ``--arena-resume`` never takes a run made with another value as done. An option
    that cannot change a result says why in ``inert`` instead; saying neither is an error at import."""

    name: str  # without "--"
    help: str
    kind: str  # "string" | "list" | "bool"
    default: object
    result: str = ""
    inert: str = ""
    # A value left out of the resume key, for a setting added after runs were recorded without it:
    # their keys stay the same, so they stay resumable.
    keyed_unless: object = _ALWAYS

    def __post_init__(self) -> None:
        if bool(self.result) == bool(self.inert):
            raise TypeError(
                f"option --{self.name}: give result= (the item setting it changes, which joins the "
                "resume key) or inert= (why it cannot change a result), not both or neither"
            )


WHERE = "where results go, not what they are"
OPTIONS: tuple[Option, ...] = (
    Option("arena-root", "fixture corpus root, relative to rootdir", "string", "fixtures",
           inert="which fixtures run: each item's key holds its fixture's name and digest"),
    Option("arena-shard", "I/N: run the I-th of N shares of the fixtures (CI shards; a stable hash of the "
           "fixture id, all of a fixture's variants in one share)", "string", "",
           inert="which items run, not what any of them does (each record names its shard)"),
    Option("arena-student", f"student spec: {schemes.forms()} (repeatable)", "list", None, result="student"),
    Option("arena-temperature", "comma list of temperatures (a sweep)", "string", "0", result="temperature"),
    Option("arena-seed", "comma list of seeds (a sweep)", "string", "0", result="seed"),
    Option("arena-epochs", "N samples per fixture: seeds S .. S+N-1 from the one --arena-seed S (pass@k)",
           "string", "", result="seed"),
    Option("arena-dialect", f"comma list of tool-call dialects (a sweep): {', '.join(CHOICES)}", "string", "auto",
           result="dialect", keyed_unless="auto"),
    Option("arena-gpu-layers", "layers offloaded to the GPU (-1 all, 0 none)", "string", "-1",
           inert="the same model and settings, computed on a GPU"),
    Option("arena-gpus", "comma list of GPU indices; xdist worker N uses the N-th (no split)", "string", "",
           inert="which GPU computes, not what"),
    # Inert, so a resume with another -n or --arena-threads takes the earlier records as done:
    # llama.cpp's CPU kernels give each output row to one thread, which sums it whole, so the thread
    # count changes who computes, not the order of any floating-point sum. Checked on SmolLM2-135M
    # Q4_1 (this CPU build): prompt logits bitwise equal and 200 greedy tokens the same at 1-4 threads
    # (tests/test_llama_student.py keeps checking 1 against 2).
    Option("arena-threads", "CPU threads per llama student (0: the cores this process may use / xdist workers)",
           "string", "0", inert="the same computation split over more or fewer cores (bitwise equal on CPU)"),
    Option("arena-n-ctx", "context size for llama students (0: the model's, capped at 32768)", "string", "0",
           result="n_ctx", keyed_unless=0),
    Option("arena-max-turns", "override every fixture's turn budget", "string", "", result="max_turns"),
    Option("arena-max-tokens", "cap on tokens generated per turn (default: the fixture's max_tokens)", "string", "",
           result="max_tokens"),
    Option("arena-turn-timeout", "seconds a student may take for one turn before the session ends", "string",
           f"{TURN_TIMEOUT_S:g}", result="turn_timeout_s"),
    Option("arena-repetition-stop", "off, or PERIOD:REPEATS: end a turn repeating a block of tokens", "string",
           "64:8", result="repetition_stop"),
    Option("arena-text-loop-limit", "text turns in a row that end a session (0 disables)", "string",
           str(TEXT_LOOP_LIMIT), result="text_loop_limit"),
    Option("arena-compliance-enforced", "run compliance after each write and feed it back", "bool", False,
           result="enforced"),
    Option("arena-tool-choice", "native tool calls: auto (the model chooses) or required (the server forces one)",
           "string", "auto", result="tool_choice", keyed_unless="auto"),
    Option("arena-constrain", "constrained decoding: every turn is one well-formed tool call", "bool", False,
           result="constrained"),
    Option("arena-sandbox", "bwrap (default) or none: how student commands and oracles are confined", "string",
           "bwrap", result="sandbox"),
    Option("arena-reports", "folder for results.jsonl and trajectories", "string", "reports", inert=WHERE),
    Option("arena-resume", "an earlier run folder: skip the items it recorded, append new records", "string", "",
           inert=WHERE),
    Option("arena-keep-workspaces", "keep each item's workspace for inspection", "bool", False, inert=WHERE),
    Option("arena-workspace-quota", "workspace size limit (K/M/G; 0: none): a command past it stops", "string",
           WORKSPACE_QUOTA, result="workspace_quota",
           keyed_unless=PARSERS["arena-workspace-quota"]("arena-workspace-quota", WORKSPACE_QUOTA)),
    Option("arena-cache", "replay each generation the response cache holds (XDG_CACHE_HOME/pytest-arena/"
           "responses: same student, prompt and sampling settings) and store new ones", "bool", False,
           inert="a replay of the generation the same student, prompt and sampling settings gave"),
    Option("arena-cold", "build every item from scratch (no warm oracle: no copy of the pristine build)", "bool",
           False, inert="the same build, made from scratch instead of copied"),
)  # fmt: skip


__all__ = [
    "OPTIONS",
    "OPTIONS_KEY",
    "ArenaOptions",
    "Option",
    "OptionError",
    "add_options",
    "read_options",
    "resume_settings",
]


def _parsed(raw: dict[str, object], name: str) -> Any:
    return PARSERS[name](name, str(raw[name]))


@dataclass(frozen=True)
class ArenaOptions:
    """Read once per process in pytest_configure and kept in ``config.stash[OPTIONS_KEY]``."""

    enabled: bool
    root: Path
    students: tuple[str, ...]
    temperatures: tuple[float, ...]
    seeds: tuple[int, ...]
    gpu_layers: int
    gpus: tuple[int, ...]
    n_ctx: int
    max_turns: int | None
    max_tokens: int | None
    turn_timeout_s: float
    text_loop_limit: int
    repetition_stop: RepetitionRule | None
    compliance_enforced: bool
    constrain: bool
    reports: Path
    keep_workspaces: bool
    cold: bool
    sandbox: str
    resume: Path | None
    shard: Shard | None  # --arena-shard I/N; None: every item
    workspace_quota: int = PARSERS["arena-workspace-quota"]("arena-workspace-quota", WORKSPACE_QUOTA)  # 0: none
    dialects: tuple[str, ...] = ("auto",)
    cache: bool = False  # --arena-cache: generations replayed from the response cache
    tool_choice: str = "auto"  # --arena-tool-choice: auto, or required (the server forces a call)
    threads: int = 0  # --arena-threads; 0: cores / xdist workers


def resume_settings(effective: dict[str, object], options: ArenaOptions) -> dict[str, object]:
    """The settings an item's resume key digests: every one an option changes (see Option), as the
    item runs with it (``effective``: per-item values) or else as the option was read (the
    ArenaOptions field of that name), so a plain new option needs no other line anywhere."""
    kept = {}
    for option in OPTIONS:
        if not option.result:
            continue
        if option.result in effective:
            value = effective[option.result]
        elif option.result in ArenaOptions.__dataclass_fields__:
            value = getattr(options, option.result)
        else:
            raise LookupError(
                f"option --{option.name} changes '{option.result}', which is neither an ArenaOptions field "
                "nor in the item's effective settings (ArenaItem.effective_settings)"
            )
        if option.keyed_unless is _ALWAYS or value != option.keyed_unless:
            kept[option.result] = value
    return kept


def _ini_default(kind: str, default: object) -> object:
    """What getini returns for a key the ini file does not set."""
    if default is None:
        return []
    return default if kind != "bool" else bool(default)


_INI_DEFAULTS = {o.name: _ini_default(o.kind, o.default) for o in OPTIONS}


def ini_value(config: pytest.Config, name: str) -> object:
    """The ini key ``arena_x`` (underscores, like pytest's and xdist's own keys); the dashed
    ``arena-x`` of earlier versions still works, with a deprecation warning."""
    key = name.replace("-", "_")
    value, dashed = config.getini(key), config.getini(name)
    unset = _INI_DEFAULTS[name]
    if dashed != unset and value == unset:  # only the dashed spelling was given
        if not is_worker(config):  # the controller warns; workers read the same file
            config.issue_config_time_warning(
                pytest.PytestDeprecationWarning(f"ini key '{name}' is deprecated: spell it '{key}'"), stacklevel=2
            )
        return dashed
    return value


def _value(config: pytest.Config, name: str, kind: str) -> object:
    cli = config.getoption(name.replace("-", "_"))
    if cli not in (None, [], False):
        return cli
    return ini_value(config, name)


def _path_option(config: pytest.Config, name: str) -> Path:
    """A folder given on the command line is relative to where pytest was invoked; one from an
    ini file (or the default) is relative to that file's folder. Not the rootdir: pytest derives
    it from arguments, and option values that are existing paths (`--arena-resume reports/x`)
    can move it away from the project."""
    cli = config.getoption(name.replace("-", "_"))
    invoked = Path(config.invocation_params.dir)
    if cli:
        return invoked / str(cli)
    base = Path(config.inipath).parent if config.inipath else invoked
    return base / str(ini_value(config, name))


def read_options(config: pytest.Config) -> ArenaOptions:
    """CLI beats ini beats default; relative paths are taken from the rootdir."""
    raw = {o.name: _value(config, o.name, o.kind) for o in OPTIONS}
    gpu_layers = _parsed(raw, "arena-gpu-layers")
    n_ctx = _parsed(raw, "arena-n-ctx")
    turn_timeout = _parsed(raw, "arena-turn-timeout")
    text_loop = _parsed(raw, "arena-text-loop-limit")
    quota = _parsed(raw, "arena-workspace-quota")
    temperatures = _parsed(raw, "arena-temperature") or (0.0,)
    seeds = _epochs(_parsed(raw, "arena-seed") or (0,), _parsed(raw, "arena-epochs"))
    listed = raw["arena-student"]
    given = [str(spec).strip() for spec in listed] if isinstance(listed, list) else []
    students = tuple(spec for spec in given if spec) or (DEFAULT_STUDENT,)
    return ArenaOptions(
        enabled=bool(config.getoption("arena")),
        root=_path_option(config, "arena-root"),
        students=tuple(dict.fromkeys(students)),
        temperatures=tuple(dict.fromkeys(temperatures)),
        seeds=tuple(dict.fromkeys(seeds)),
        gpu_layers=-1 if gpu_layers is None else gpu_layers,
        gpus=_parsed(raw, "arena-gpus"),
        n_ctx=n_ctx or 0,
        max_turns=_parsed(raw, "arena-max-turns"),
        max_tokens=_parsed(raw, "arena-max-tokens"),
        turn_timeout_s=TURN_TIMEOUT_S if turn_timeout is None else turn_timeout,
        text_loop_limit=TEXT_LOOP_LIMIT if text_loop is None else text_loop,
        repetition_stop=_parsed(raw, "arena-repetition-stop"),
        compliance_enforced=bool(raw["arena-compliance-enforced"]),
        constrain=bool(raw["arena-constrain"]),
        reports=_path_option(config, "arena-reports"),
        keep_workspaces=bool(raw["arena-keep-workspaces"]),
        cold=bool(raw["arena-cold"]),
        sandbox=_one_of(raw, "arena-sandbox", ("bwrap", "none")),
        tool_choice=_one_of(raw, "arena-tool-choice", ("auto", "required")),
        resume=_resume_dir(_path_option(config, "arena-resume")) if raw["arena-resume"] else None,
        shard=_parsed(raw, "arena-shard"),
        workspace_quota=ArenaOptions.workspace_quota if quota is None else quota,
        dialects=dialect_option(str(raw["arena-dialect"]), students),
        cache=bool(raw["arena-cache"]),
        threads=_parsed(raw, "arena-threads") or 0,
    )


def _epochs(seeds: tuple[int, ...], epochs: int | None) -> tuple[int, ...]:
    if epochs is None:
        return seeds
    if len(seeds) > 1:
        raise OptionError(
            f"--arena-epochs={epochs} with --arena-seed {','.join(map(str, seeds))}: give one seed to start from, "
            "or list the seeds and drop --arena-epochs"
        )
    return tuple(seeds[0] + i for i in range(epochs))


def _resume_dir(path: Path) -> Path:
    real = path.resolve()  # reports/latest is a link; records go to the folder it names
    if not real.is_dir():
        raise OptionError(
            f"--arena-resume={path}: no such run folder (expected reports/<run-id> "
            "or reports/latest from an earlier `pytest --arena`)"
        )
    return real


def _one_of(raw: dict[str, object], name: str, allowed: tuple[str, str]) -> str:
    value = str(raw[name])
    if value not in allowed:
        raise OptionError(f"--{name}={value!r}: expected {allowed[0]} or {allowed[1]}")
    return value


_INI_TYPES: dict[str, Literal["string", "linelist", "bool"]] = {"string": "string", "list": "linelist", "bool": "bool"}


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("arena", "pytest-arena: benchmark coding-agent students on fixtures")
    group.addoption(
        "--arena",
        action="store_true",
        default=False,
        help="collect the fixture corpus (meta.toml files) as arena items",
    )
    for option in OPTIONS:
        name, help_text, kind, default = option.name, option.help, option.kind, option.default
        dest = name.replace("-", "_")
        if kind == "bool":
            group.addoption(f"--{name}", dest=dest, action="store_true", default=False, help=help_text)
        elif kind == "list":
            group.addoption(f"--{name}", dest=dest, action="append", default=[], help=help_text)
        else:
            checked = {"type": argparse_type(name)} if name in PARSERS else {}
            group.addoption(f"--{name}", dest=dest, default=None, help=help_text, **checked)
        ini_type = _INI_TYPES[kind]
        initial = default if default is not None else []
        parser.addini(dest, help_text, type=ini_type, default=initial)
        parser.addini(name, f"deprecated spelling of {dest}", type=ini_type, default=initial)


OPTIONS_KEY = pytest.StashKey[ArenaOptions]()
