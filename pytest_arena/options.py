"""Command-line options and ini keys of the arena, read into one typed settings object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

DEFAULT_STUDENT = "default"

# (name without "--", help, kind, default). ini keys use the same names.
OPTIONS: tuple[tuple[str, str, str, Any], ...] = (
    ("arena-root", "fixture corpus root, relative to rootdir", "string", "fixtures"),
    (
        "arena-student",
        "student spec: default, reference, scripted:PATH, llama:PATH.gguf, openai:URL#MODEL (repeatable)",
        "list",
        None,
    ),
    ("arena-temperature", "comma list of temperatures (a sweep)", "string", "0"),
    ("arena-seed", "comma list of seeds (a sweep)", "string", "0"),
    (
        "arena-dialect",
        "comma list of tool-call dialects (a sweep): auto, arena, hermes, qwen3-coder, llama3, mistral, "
        "pythonic, native (openai: students only)",
        "string",
        "auto",
    ),
    ("arena-gpu-layers", "layers offloaded to the GPU (-1 all, 0 none)", "string", "-1"),
    ("arena-gpus", "comma list of GPU indices; xdist worker N uses the N-th (no split)", "string", ""),
    ("arena-n-ctx", "context size for llama students (0: the model's, capped at 32768)", "string", "0"),
    ("arena-max-turns", "override every fixture's turn budget", "string", ""),
    ("arena-max-tokens", "cap on tokens generated per turn (default: the fixture's max_tokens)", "string", ""),
    ("arena-turn-timeout", "seconds a student may take for one turn before the session fails", "string", "600"),
    ("arena-text-loop-limit", "text turns in a row that end a session (0 disables)", "string", "4"),
    ("arena-compliance-enforced", "run compliance after each write and feed it back", "bool", False),
    ("arena-constrain", "constrained decoding: every turn is one well-formed tool call", "bool", False),
    ("arena-sandbox", "bwrap (default) or none: how student commands and oracles are confined", "string", "bwrap"),
    ("arena-reports", "folder for results.jsonl and trajectories", "string", "reports"),
    (
        "arena-resume",
        "an earlier run folder: items already recorded there are not rerun, new records are appended to it",
        "string",
        "",
    ),
    ("arena-keep-workspaces", "keep each item's workspace for inspection", "bool", False),
)


class OptionError(ValueError):
    pass


def _floats(name: str, raw: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise OptionError(f"--{name}={raw!r}: expected a comma list of numbers, e.g. 0,0.2,0.7") from None


def _ints(name: str, raw: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise OptionError(f"--{name}={raw!r}: expected a comma list of integers, e.g. 0,1,42") from None


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
    compliance_enforced: bool
    constrain: bool
    reports: Path
    keep_workspaces: bool
    sandbox: str
    resume: Path | None
    dialects: tuple[str, ...] = ("auto",)


def _value(config: Any, name: str, kind: str) -> Any:
    cli = config.getoption(name.replace("-", "_"))
    if cli not in (None, [], False):
        return cli
    return config.getini(name)


def _path_option(config: Any, name: str) -> Path:
    """A folder given on the command line is relative to where pytest was invoked; one from an
    ini file (or the default) is relative to that file's folder. Not the rootdir: pytest derives
    it from arguments, and option values that are existing paths (`--arena-resume reports/x`)
    can move it away from the project."""
    cli = config.getoption(name.replace("-", "_"))
    invoked = Path(config.invocation_params.dir)
    if cli:
        return invoked / cli
    base = Path(config.inipath).parent if config.inipath else invoked
    return base / str(config.getini(name))


def read_options(config: Any) -> ArenaOptions:
    """CLI beats ini beats default; relative paths are taken from the rootdir."""
    from .dialect_option import dialect_option

    raw = {name: _value(config, name, kind) for name, _, kind, _ in OPTIONS}
    max_turns = _ints("arena-max-turns", str(raw["arena-max-turns"]))
    text_loop = _ints("arena-text-loop-limit", str(raw["arena-text-loop-limit"]))
    gpu = _ints("arena-gpu-layers", str(raw["arena-gpu-layers"]))
    temperatures = _floats("arena-temperature", str(raw["arena-temperature"])) or (0.0,)
    seeds = _ints("arena-seed", str(raw["arena-seed"])) or (0,)
    if any(t < 0 for t in temperatures):
        raise OptionError("--arena-temperature: temperatures must be >= 0")
    students = tuple(s.strip() for s in (raw["arena-student"] or []) if s.strip()) or (DEFAULT_STUDENT,)
    return ArenaOptions(
        enabled=bool(config.getoption("arena")),
        root=_path_option(config, "arena-root"),
        students=tuple(dict.fromkeys(students)),
        temperatures=tuple(dict.fromkeys(temperatures)),
        seeds=tuple(dict.fromkeys(seeds)),
        gpu_layers=gpu[0] if gpu else -1,
        gpus=_ints("arena-gpus", str(raw["arena-gpus"])),
        n_ctx=(_ints("arena-n-ctx", str(raw["arena-n-ctx"])) or (0,))[0],
        max_turns=max_turns[0] if max_turns else None,
        max_tokens=(_ints("arena-max-tokens", str(raw["arena-max-tokens"])) or (None,))[0],
        turn_timeout_s=(_floats("arena-turn-timeout", str(raw["arena-turn-timeout"])) or (600.0,))[0],
        text_loop_limit=text_loop[0] if text_loop else 4,
        compliance_enforced=bool(raw["arena-compliance-enforced"]),
        constrain=bool(raw["arena-constrain"]),
        reports=_path_option(config, "arena-reports"),
        keep_workspaces=bool(raw["arena-keep-workspaces"]),
        sandbox=_sandbox_kind(str(raw["arena-sandbox"])),
        resume=_resume_dir(_path_option(config, "arena-resume")) if raw["arena-resume"] else None,
        dialects=dialect_option(str(raw["arena-dialect"]), students),
    )


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
            group.addoption(f"--{name}", dest=dest, default=None, help=help_text)
        ini_type = {"bool": "bool", "list": "linelist"}.get(kind, "string")
        parser.addini(name, help_text, type=ini_type, default=default if default is not None else [])


OPTIONS_KEY = pytest.StashKey[ArenaOptions]()
