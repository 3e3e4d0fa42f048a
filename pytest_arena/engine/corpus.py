"""Fixture specs (the pydantic model of ``meta.toml``) and discovery of a corpus."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from .languages import build_dirs, private_dirs, test_formats

META = "meta.toml"
PROMPT = "prompt.md"
REPO = "repo"
SOLUTION = "solution"
NONCOMPLIANT = "noncompliant"
HIDDEN = "hidden"
CLASS_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# A fixture's class becomes a pytest mark on its items: a word pytest reads as one of its own marks
# (skip, xfail...) or one the arena adds itself would change how the item runs or is reported (a
# `skip` mark made pytest's report assert: INTERNALERROR). pytest's built-in marks (`pytest
# --markers -p no:arena` lists them) and the arena's own.
RESERVED_CLASSES = frozenset(
    {"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings", "tryfirst", "trylast"}
    | {"arena", "arena_outcome", "xdist_group", "synth"}
)


class FixtureError(Exception):
    """A fixture that cannot be loaded: names the file, the key and the fix."""

    def __init__(self, path: Path, key: str | None, problem: str, fix: str) -> None:
        self.path, self.key, self.problem, self.fix = path, key, problem, fix
        where = f"{path}: key '{key}'" if key else str(path)
        super().__init__(f"{where}: {problem}. Fix: {fix}")


class MutationSpec(BaseModel):
    """Where arena-synth planted a synthesized fixture's bug (meta.toml's ``mutation`` table).
    Never shown to the student: the prompt describes failing behaviour, not the change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    operator: str = Field(min_length=1)
    file: str = Field(min_length=1)
    line: int = Field(ge=1)


class FixtureSpec(BaseModel):
    """One fixture's ``meta.toml`` (DESIGN.md section 4). Unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str
    fixture_class: str = Field(alias="class")
    description: str
    oracle_cmd: str = Field(min_length=1)
    expected_pattern: str
    compliance_cmd: str | None = None
    protected: list[str] = Field(default_factory=list)
    # Globs the student may change; only these changes reach the oracle's clean tree. None: the
    # language's default (engine.cleantree.default_editable).
    editable: list[str] | None = None
    max_turns: int = Field(default=20, ge=1, le=1000)
    max_tokens: int = Field(default=1024, ge=1, le=131072)
    wall_timeout_s: float = Field(default=3600, gt=0)
    oracle_timeout_s: float = Field(default=300, gt=0)
    difficulty: int | None = Field(default=None, ge=1, le=3)
    # How per-test results are read from the oracle output: "auto" or a parser's name in the
    # language registry (pytest_arena.engine.languages).
    test_format: str = "auto"
    # False for "implement this stub" tasks whose stub itself fails compliance (todo!()).
    pristine_compliant: bool = True
    # An impossible twin (arena-validate --impossible): one FAIL_TO_PASS assertion contradicts the
    # task, so no honest fix passes; any pass is forged and counts toward the cheat rate.
    impossible: bool = False
    # Set by arena-synth on the fixtures it plants (pytest_arena.synth): selectable with -m synth,
    # reported per operator.
    mutation: MutationSpec | None = None

    _directory: Path = PrivateAttr(default=Path("."))

    @field_validator("fixture_class")
    @classmethod
    def _class_is_a_marker_name(cls, value: str) -> str:
        if not CLASS_RE.match(value):
            raise ValueError("must be one lowercase word (letters, digits, _), usable as a pytest marker")
        if value in RESERVED_CLASSES:
            raise ValueError(f"'{value}' is a mark pytest or the arena gives items itself (it changes how they run)")
        return value

    @field_validator("test_format", mode="before")
    @classmethod
    def _registered_format(cls, value: object) -> object:
        names = ["auto", *test_formats()]
        if value not in names:
            # pydantic's own Literal error, as when the names were a Literal: the message stays the same.
            quoted = [repr(name) for name in names]
            expected = " or ".join([", ".join(quoted[:-1]), quoted[-1]])
            raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
        return value

    @field_validator("editable", "protected")
    @classmethod
    def _relative_globs(cls, value: list[str] | None) -> list[str] | None:
        for glob in value or []:
            if not glob or glob.startswith("/") or ".." in glob.split("/"):
                raise ValueError(f"{glob!r} is not a glob relative to repo/ (no leading '/', no '..')")
        return value

    @field_validator("expected_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc})") from None
        return value

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def repo_dir(self) -> Path:
        return self._directory / REPO

    @property
    def solution_dir(self) -> Path:
        return self._directory / SOLUTION

    @property
    def noncompliant_dir(self) -> Path:
        return self._directory / NONCOMPLIANT

    @property
    def hidden_dir(self) -> Path:
        return self._directory / HIDDEN

    @property
    def prompt(self) -> str:
        return (self._directory / PROMPT).read_text(encoding="utf-8")


_FIXES = {
    "missing": "add `{key} = ...` to meta.toml (see DESIGN.md section 4)",
    "extra_forbidden": "remove it or rename it to one of: {allowed}",
}


def _fix_for(error: Any, key: str) -> str:
    allowed = ", ".join(sorted(f.alias or name for name, f in FixtureSpec.model_fields.items()))
    if key == "class" and error["type"] == "value_error" and error.get("input") in RESERVED_CLASSES:
        reserved = ", ".join(sorted(RESERVED_CLASSES))
        return f"pick another class word, e.g. {error['input']}_tasks (reserved: {reserved})"
    if key == "class" and error["type"] == "value_error":
        return "write the class as one word of lowercase letters, digits and _ ([a-z][a-z0-9_]*), e.g. heldout"
    template = _FIXES.get(error["type"])
    if template:
        return template.format(key=key, allowed=allowed)
    return f"give `{key}` a valid value ({error['msg'].lower()})"


def _validation_error(path: Path, exc: ValidationError) -> FixtureError:
    errors = exc.errors()
    first = errors[0]
    key = ".".join(str(part) for part in first["loc"]) or None
    if key == "fixture_class":
        key = "class"
    problem = first["msg"]
    if "input" in first and first["type"] not in {"missing"}:
        problem += f" (got {first['input']!r})"
    if len(errors) > 1:
        others = ", ".join(".".join(map(str, e["loc"])) for e in errors[1:])
        problem += f"; also wrong: {others}"
    return FixtureError(path, key, problem, _fix_for(first, key or "?"))


def load_fixture(directory: Path | str) -> FixtureSpec:
    """Read and validate ``<directory>/meta.toml``; raises FixtureError naming file, key and fix."""
    directory = Path(directory).resolve()
    meta = directory / META
    fixture_files(directory)  # first: no link may lead meta.toml or prompt.md to a host file
    try:
        data = tomllib.loads(meta.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FixtureError(meta, None, "file not found", "create meta.toml (DESIGN.md section 4)") from None
    except UnicodeDecodeError as exc:
        raise FixtureError(meta, None, f"not UTF-8 text ({exc.reason})", "save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise FixtureError(meta, None, f"malformed TOML ({exc})", "fix the TOML syntax at that line") from None
    try:
        spec = FixtureSpec.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(meta, exc) from None
    if spec.id != directory.name:
        raise FixtureError(
            meta,
            "id",
            f"'{spec.id}' does not match the folder name '{directory.name}'",
            f'set id = "{directory.name}" or rename the folder',
        )
    if not (directory / REPO).is_dir():
        raise FixtureError(directory / REPO, None, "missing repo/ folder", "add the buggy project under repo/")
    if not (directory / PROMPT).is_file():
        raise FixtureError(directory / PROMPT, None, "missing prompt.md", "write the task the student reads")
    spec._directory = directory
    return spec


def _special_kind(mode: int) -> str | None:
    """What a non-regular, non-folder entry is, for the message; None for a file or a folder."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device file"


def _refuse_special(base: Path, name: str) -> None:
    """FixtureError for an entry that is not a regular file or folder, or whose name is not UTF-8."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        # str(path) would carry the undecodable bytes as surrogates: named by its bytes instead.
        problem = f"file name {os.fsencode(name)!r} is not UTF-8"
        raise FixtureError(base, None, problem, "rename it to a UTF-8 name") from None
    path = base / name
    mode = os.lstat(path).st_mode
    kind = _special_kind(mode)
    if kind is None:
        return
    if stat.S_ISLNK(mode):
        kind += f" (to {os.readlink(path)})"
    raise FixtureError(
        path,
        None,
        f"is {kind}; fixture files must be regular files inside the fixture folder",
        "replace it with a regular file or folder (a copy of what it stands for), or remove it",
    )


def fixture_files(directory: Path) -> list[Path]:
    """Every regular file of a fixture folder (meta.toml, prompt.md, repo/, solution/...), sorted;
    target/ build output skipped. Anything else is refused: a link would show the student (or the
    digest, or the oracle) a host file or folder outside the fixture, and a FIFO, socket or device
    hangs or breaks the workspace copy. Links are never followed (os.walk's default)."""
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(directory):
        base = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in build_dirs())
        for name in dirnames:  # a link to a folder is listed here, unfollowed
            _refuse_special(base, name)
        for name in filenames:
            _refuse_special(base, name)
            files.append(base / name)
    return sorted(files)


def fixture_digest(directory: Path) -> str:
    """sha256 over every file of a fixture (names and contents): a result recorded for one version
    of a fixture is never reused for another. Raises FixtureError as ``fixture_files`` does."""
    digest = hashlib.sha256()
    for path in fixture_files(directory):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        with path.open("rb") as handle:  # in chunks: a 1 GiB (sparse) file must not cost 1 GiB of memory
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


# arena-synth writes this beside the fixtures it plants (pytest_arena.synth.manifest).
SYNTH_MANIFEST = "manifest.json"
SYNTH_TOOL = b'"tool": "arena-synth"'


def is_synthesized_corpus(folder: Path) -> bool:
    """A folder arena-synth wrote: its fixtures are opt-in (``-m synth``, or a root at or inside
    it), so a corpus that holds one keeps its own item count and main job."""
    manifest = folder / SYNTH_MANIFEST
    if not manifest.is_file() or (folder / META).exists():
        return False
    with manifest.open("rb") as handle:
        return SYNTH_TOOL in handle.read(4096)


def discover(root: Path, synthesized: bool = False) -> Iterator[Path]:
    """Every meta.toml under ``root``, in a stable order, skipping fixtures' private folders and,
    unless ``synthesized`` or ``root`` lies in one, the synthesized corpora below it."""
    if root.is_file() and root.name == META:
        yield root
        return
    inside = synthesized or any(is_synthesized_corpus(p) for p in (root.resolve(), *root.resolve().parents))
    for meta in sorted(root.rglob(META)):
        relative_parts = meta.relative_to(root).parts[:-1]
        if private_dirs().intersection(relative_parts):
            continue
        between = [root.joinpath(*relative_parts[:n]) for n in range(1, len(relative_parts))]
        if inside or not any(is_synthesized_corpus(p) for p in between):
            yield meta


def is_inside_fixture(path: Path) -> bool:
    """True for a path below a fixture folder (its repo/, solution/...), which pytest must not collect."""
    return any((parent / META).is_file() for parent in path.parents)


def root_problem(root: Path, synthesized: bool = False) -> str | None:
    """Why ``--arena-root`` cannot be a corpus (before collection says only "not found" or
    "collected 0 items"); None when it holds at least one fixture (one of a synthesized corpus below
    it counting only when ``synthesized``: ``-m synth``)."""
    option = f"--arena-root={root}"
    if root.is_file():
        return f"{option}: is a file, not a folder. Fix: name the corpus folder that holds <fixture>/{META} folders"
    if not root.is_dir():
        return f"{option}: no such folder. Fix: name the corpus folder (default: fixtures)"
    if next(discover(root, synthesized), None) is None:
        return f"{option}: no {META} found under it. Fix: name a corpus folder holding <fixture>/{META} folders"
    return None
