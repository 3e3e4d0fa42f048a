"""The corpus's two languages, Rust (fixtures/under-contract) and Python (fixtures/python), as
:class:`~.languages.Language` entries. Rust comes first: its parser is tried first under ``auto``,
its folders are listed first, and its examples are the prompts' (languages.PROMPT_LANGUAGE)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

from .editable import never_kind
from .languages import Language, PromptExamples, register
from .testresults import parse_cargo, parse_pytest, parse_unittest

_NOT_PACKAGES = frozenset({"tests", "test", "testing", "docs", "hidden", "solution"})


def _is_cargo_project(repo: Path) -> bool:
    return (repo / "Cargo.toml").is_file()


def python_editable(repo: Path) -> list[str]:
    """The package folders (top-level folders with ``__init__.py``, tests excepted), else the
    top-level modules. Read from the pristine tree, so a package the student creates is never
    editable by default."""
    packages = sorted(
        entry.name
        for entry in repo.iterdir()
        if entry.is_dir()
        and not entry.is_symlink()
        and (entry / "__init__.py").is_file()
        and entry.name not in _NOT_PACKAGES
    )
    if packages:
        return [f"{name}/**" for name in packages]
    return sorted(
        entry.name
        for entry in repo.glob("*.py")
        if entry.is_file() and not entry.name.startswith("test") and not never_kind(entry.name)
    )


def _rust_relocated(repo: Path) -> None:
    """An integration test of a crate with a binary holds the binary's absolute path
    (``env!("CARGO_BIN_EXE_<name>")``), which is the warm build's folder, gone by now; cargo does
    not rebuild the test for a new folder, so an untouched tree (or one whose fix is in main.rs
    only) ran tests that could not find the program. Dropping those tests' fingerprints makes
    cargo compile them again, here."""
    fingerprints = repo / "target" / "debug" / ".fingerprint"
    if not fingerprints.is_dir() or not any(fingerprints.glob("*/bin-*")):
        return
    for stale in fingerprints.glob("*/test-integration-test-*"):
        if stale.is_file() and not stale.is_symlink():
            stale.unlink()


def _rust_replaced(rel: str) -> bool:
    """rustc's libraries and every executable, in ``target/<profile>/deps/`` or uplifted into
    ``target/<profile>/``: rustc and cargo unlink them and put a new file in their place (strace,
    see engine/artifact_links.py). Not ``*.d``, fingerprints, ``.rustc_info.json`` nor build
    scripts' output: those are rewritten in place."""
    parts = rel.split("/")
    if parts[0] != "target" or not (len(parts) == 3 or (len(parts) == 4 and parts[2] == "deps")):
        return False
    name = parts[-1]
    return "." not in name or name.endswith((".rlib", ".rmeta", ".so"))


def _manifest_name(file: str, table: str) -> Callable[[Path], str | None]:
    def name(repo: Path) -> str | None:
        try:
            found = tomllib.loads((repo / file).read_text(encoding="utf-8")).get(table, {}).get("name")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
            return None
        return found if isinstance(found, str) and found else None

    return name


RUST = Language(
    "rust",
    detect=_is_cargo_project,
    default_editable=lambda repo: ["src/**"],
    parsers={"cargo": parse_cargo},
    build_dirs=("target",),
    warm_dirs=("target",),
    tool_homes=("CARGO_HOME", "RUSTUP_HOME"),
    home_defaults=(("CARGO_HOME", ".cargo"), ("RUSTUP_HOME", ".rustup")),
    passed_env=("RUSTUP_TOOLCHAIN",),
    # Incremental compilation off: every build here starts in a fresh tree whose seeded target/
    # holds no incremental caches (warm.py), so writing them only cost time: a cold `cargo test`
    # and clippy of a fixture took 2.0 s with them, 1.1 s without (and 73 MB against 47 MB).
    # No debug info in test builds: a panic still names its file and line (those are compiled in),
    # no test reads its own debug info, and a cold `cargo test` took 0.78 s instead of 0.99 s,
    # leaving 7.5 MB of target/ to seed and remove instead of 47 MB.
    command_env={"CARGO_TERM_COLOR": "never", "CARGO_INCREMENTAL": "0", "CARGO_PROFILE_DEV_DEBUG": "0"},
    jobs_env="CARGO_BUILD_JOBS",
    install_hints={"cargo": "install Rust (apt-get install cargo rust-clippy rustfmt, or rustup) or run ./run setup"},
    relocated=_rust_relocated,
    replaced=_rust_replaced,
    never_editable={
        "build script": ("**/build.rs",),
        "toolchain config": (
            "**/.cargo/**",
            "**/Cargo.toml",
            "**/Cargo.lock",
            "**/rust-toolchain",
            "**/rust-toolchain.toml",
            "**/.rustc_info.json",
        ),
        "lint config": ("**/clippy.toml", "**/.clippy.toml", "**/rustfmt.toml", "**/.rustfmt.toml"),
    },
    source_suffix=".rs",
    synth_contract={
        "oracle_cmd": "cargo test --offline --no-fail-fast 2>&1",
        "expected_pattern": "^test result: ok",
        "compliance_cmd": "cargo clippy --offline --all-targets -- -D warnings 2>&1 && cargo fmt --check 2>&1",
        "protected": ["Cargo.toml", "Cargo.lock", "build.rs", "clippy.toml", "rustfmt.toml", "tests/**"],
    },
    project_name=_manifest_name("Cargo.toml", "package"),
    examples=PromptExamples(
        source="src/lib.rs",
        test_command="cargo test --offline 2>&1 | tail -20",
        test_word="cargo test",
        old="if i > 0 {",
        new="if i >= 0 {",
    ),
)

PYTHON = Language(
    "python",
    detect=None,
    default_editable=python_editable,
    parsers={"unittest": parse_unittest, "pytest": parse_pytest},
    warm_dirs=(".mypy_cache", ".ruff_cache"),
    ignored_dirs=("__pycache__", ".pytest_cache"),
    tool_homes=("VIRTUAL_ENV",),
    command_env={
        "PYTHONDONTWRITEBYTECODE": "1",
        # A Python fixture's own pytest must not load what the arena's venv has installed (this
        # plugin, xdist): its verdict would depend on the arena, and an editable install whose
        # source the sandbox hides fails to import.
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        # No user site-packages: a .pth or usercustomize there would run in every Python process.
        "PYTHONNOUSERSITE": "1",
    },
    install_hints={"python": "install Python 3.11+"},
    never_editable={
        "runner config": (
            "**/conftest.py",
            "**/pytest.ini",
            "**/.pytest.ini",
            "**/setup.cfg",
            "**/tox.ini",
            "**/pyproject.toml",
            "**/setup.py",
            "**/noxfile.py",
        ),
        "lint config": (
            "**/ruff.toml",
            "**/.ruff.toml",
            "**/mypy.ini",
            "**/.mypy.ini",
            "**/.flake8",
            "**/.pylintrc",
            "**/pylintrc",
            "**/pyrightconfig.json",
        ),
        "interpreter hook": ("**/sitecustomize.py", "**/usercustomize.py", "**/*.pth", "**/__pycache__/**"),
    },
    source_suffix=".py",
    synth_contract={
        "oracle_cmd": "python -m pytest -q -rA -p no:cacheprovider 2>&1",
        "expected_pattern": "^\\d+ passed(, \\d+ warnings?)? in ",
        "compliance_cmd": "ruff check . 2>&1 && ruff format --check . 2>&1 && mypy --strict . 2>&1",
        "protected": ["pyproject.toml", "setup.cfg", "setup.py", "conftest.py", "tests/**"],
    },
    project_name=_manifest_name("pyproject.toml", "project"),
)

BUILTIN = (RUST, PYTHON)
for _language in BUILTIN:
    register(_language)
