"""Command-line options and ini keys of the arena, read into one typed settings object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .engine.dialects import CHOICES
from .engine.repetition import RepetitionRule
from .engine.session import SessionSettings
from .engine.student import StudentConfig
from .option_types import PARSERS, OptionError, argparse_type
from .students import schemes
from .xdist_role import is_worker

DEFAULT_STUDENT = "default"
# Defaults whose home is the engine: the option table shows them, read_options falls back to them.
TURN_TIMEOUT_S = StudentConfig().turn_timeout_s
TEXT_LOOP_LIMIT = SessionSettings().text_loop_limit
WORKSPACE_QUOTA = "4G"

# (name without "--", help, kind, default). ini keys use the same names.
OPTIONS: tuple[tuple[str, str, str, Any], ...] = (
    ("arena-root", "fixture corpus root, relative to rootdir", "string", "fixtures"),
    ("arena-student", f"student spec: {schemes.forms()} (repeatable)", "list", None),
    ("arena-temperature", "comma list of temperatures (a sweep)", "string", "0"),
    ("arena-seed", "comma list of seeds (a sweep)", "string", "0"),
    ("arena-epochs", "N samples per fixture: seeds S .. S+N-1 from the one --arena-seed S (pass@k)", "string", ""),
    ("arena-dialect", f"comma list of tool-call dialects (a sweep): {', '.join(CHOICES)}", "string", "auto"),
    ("arena-gpu-layers", "layers offloaded to the GPU (-1 all, 0 none)", "string", "-1"),
    ("arena-gpus", "comma list of GPU indices; xdist worker N uses the N-th (no split)", "string", ""),
    ("arena-n-ctx", "context size for llama students (0: the model's, capped at 32768)", "string", "0"),
    ("arena-max-turns", "override every fixture's turn budget", "string", ""),
    ("arena-max-tokens", "cap on tokens generated per turn (default: the fixture's max_tokens)", "string", ""),
    (
        "arena-turn-timeout",
        "seconds a student may take for one turn before the session ends",
        "string",
        f"{TURN_TIMEOUT_S:g}",
    ),
    ("arena-repetition-stop", "off, or PERIOD:REPEATS: end a turn repeating a block of tokens", "string", "64:8"),
    ("arena-text-loop-limit", "text turns in a row that end a session (0 disables)", "string", str(TEXT_LOOP_LIMIT)),
    ("arena-compliance-enforced", "run compliance after each write and feed it back", "bool", False),
    ("arena-constrain", "constrained decoding: every turn is one well-formed tool call", "bool", False),
    ("arena-sandbox", "bwrap (default) or none: how student commands and oracles are confined", "string", "bwrap"),
    ("arena-reports", "folder for results.jsonl and trajectories", "string", "reports"),
    ("arena-resume", "an earlier run folder: skip the items it recorded, append new records", "string", ""),
    ("arena-keep-workspaces", "keep each item's workspace for inspection", "bool", False),
    (
        "arena-workspace-quota",
        "workspace size limit (K/M/G; 0: none): a command past it stops",
        "string",
        WORKSPACE_QUOTA,
    ),
    ("arena-cold", "build every item from scratch (no warm oracle: no copy of the pristine build)", "bool", False),
)


__all__ = ["OPTIONS", "OPTIONS_KEY", "ArenaOptions", "OptionError", "add_options", "read_options"]


def _parsed(raw: dict[str, Any], name: str) -> Any:
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
    workspace_quota: int = PARSERS["arena-workspace-quota"]("arena-workspace-quota", WORKSPACE_QUOTA)  # 0: none
    dialects: tuple[str, ...] = ("auto",)


def _ini_default(kind: str, default: Any) -> Any:
    """What getini returns for a key the ini file does not set."""
    if default is None:
        return []
    return default if kind != "bool" else bool(default)


_INI_DEFAULTS = {name: _ini_default(kind, default) for name, _, kind, default in OPTIONS}


def ini_value(config: Any, name: str) -> Any:
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


def _value(config: Any, name: str, kind: str) -> Any:
    cli = config.getoption(name.replace("-", "_"))
    if cli not in (None, [], False):
        return cli
    return ini_value(config, name)


def _path_option(config: Any, name: str) -> Path:
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


def read_options(config: Any) -> ArenaOptions:
    """CLI beats ini beats default; relative paths are taken from the rootdir."""
    from .dialect_option import dialect_option

    raw = {name: _value(config, name, kind) for name, _, kind, _ in OPTIONS}
    gpu_layers = _parsed(raw, "arena-gpu-layers")
    n_ctx = _parsed(raw, "arena-n-ctx")
    turn_timeout = _parsed(raw, "arena-turn-timeout")
    text_loop = _parsed(raw, "arena-text-loop-limit")
    quota = _parsed(raw, "arena-workspace-quota")
    temperatures = _parsed(raw, "arena-temperature") or (0.0,)
    seeds = _epochs(_parsed(raw, "arena-seed") or (0,), _parsed(raw, "arena-epochs"))
    students = tuple(s.strip() for s in (raw["arena-student"] or []) if s.strip()) or (DEFAULT_STUDENT,)
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
        sandbox=_sandbox_kind(str(raw["arena-sandbox"])),
        resume=_resume_dir(_path_option(config, "arena-resume")) if raw["arena-resume"] else None,
        workspace_quota=ArenaOptions.workspace_quota if quota is None else quota,
        dialects=dialect_option(str(raw["arena-dialect"]), students),
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


def _sandbox_kind(raw: str) -> str:
    if raw not in ("bwrap", "none"):
        raise OptionError(f"--arena-sandbox={raw!r}: expected bwrap or none")
    return raw


def add_options(parser: Any) -> None:
    group = parser.getgroup("arena", "pytest-arena: benchmark coding-agent students on fixtures")
    group.addoption(
        "--arena",
        action="store_true",
        default=False,
        help="collect the fixture corpus (meta.toml files) as arena items",
    )
    for name, help_text, kind, default in OPTIONS:
        dest = name.replace("-", "_")
        if kind == "bool":
            group.addoption(f"--{name}", dest=dest, action="store_true", default=False, help=help_text)
        elif kind == "list":
            group.addoption(f"--{name}", dest=dest, action="append", default=[], help=help_text)
        else:
            checked = {"type": argparse_type(name)} if name in PARSERS else {}
            group.addoption(f"--{name}", dest=dest, default=None, help=help_text, **checked)
        ini_type = {"bool": "bool", "list": "linelist"}.get(kind, "string")
        initial = default if default is not None else []
        parser.addini(dest, help_text, type=ini_type, default=initial)
        parser.addini(name, f"deprecated spelling of {dest}", type=ini_type, default=initial)


OPTIONS_KEY = pytest.StashKey[ArenaOptions]()
