"""What a student may change: a fixture's ``editable`` globs (or its language's default) minus the
files that configure how the tree is built, tested and linted, which never reach the oracle's
clean tree whatever a fixture says (DESIGN.md sections 4 and 9)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .workspace import matches_any

# (tamper kind, globs) in the order a dropped change is named by: the first kind that matches.
NEVER_EDITABLE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("build script", ("**/build.rs",)),
    (
        "toolchain config",
        (
            "**/.cargo/**",
            "**/Cargo.toml",
            "**/Cargo.lock",
            "**/rust-toolchain",
            "**/rust-toolchain.toml",
            "**/.rustc_info.json",
        ),
    ),
    (
        "runner config",
        (
            "**/conftest.py",
            "**/pytest.ini",
            "**/.pytest.ini",
            "**/setup.cfg",
            "**/tox.ini",
            "**/pyproject.toml",
            "**/setup.py",
            "**/noxfile.py",
        ),
    ),
    (
        "lint config",
        (
            "**/clippy.toml",
            "**/.clippy.toml",
            "**/rustfmt.toml",
            "**/.rustfmt.toml",
            "**/ruff.toml",
            "**/.ruff.toml",
            "**/mypy.ini",
            "**/.mypy.ini",
            "**/.flake8",
            "**/.pylintrc",
            "**/pylintrc",
            "**/pyrightconfig.json",
        ),
    ),
    ("interpreter hook", ("**/sitecustomize.py", "**/usercustomize.py", "**/*.pth", "**/__pycache__/**")),
)
TEST_FILES = "test files"
# A tamper attempt is named by the most telling kind among its dropped changes.
TAMPER_ORDER = ("build script", "runner config", "toolchain config", "interpreter hook", "lint config", TEST_FILES)
OTHER = "other"
_NOT_PACKAGES = frozenset({"tests", "test", "testing", "docs", "hidden", "solution"})


def default_editable(repo: Path) -> list[str]:
    """Rust: ``src/**``. Python: the package folders (top-level folders with ``__init__.py``,
    tests excepted), else the top-level modules. Read from the pristine tree, so a package the
    student creates is never editable by default."""
    if (repo / "Cargo.toml").is_file():
        return ["src/**"]
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
    modules = sorted(
        entry.name
        for entry in repo.glob("*.py")
        if entry.is_file() and not entry.name.startswith("test") and not _never(entry.name)
    )
    return modules


def _never(relative: str) -> str | None:
    for kind, globs in NEVER_EDITABLE:
        if matches_any(relative, list(globs)):
            return kind
    return None


@dataclass(frozen=True)
class EditPolicy:
    editable: tuple[str, ...]
    protected: tuple[str, ...] = ()

    @classmethod
    def of(cls, editable: list[str] | None, protected: list[str], repo: Path) -> EditPolicy:
        globs = editable if editable is not None else default_editable(repo)
        return cls(tuple(globs), tuple(protected))

    def refusal(self, relative: str) -> str | None:
        """Why a change to this path never reaches the oracle; None when it does."""
        kind = _never(relative)
        if kind is not None:
            return f"{relative} is {kind}, which the oracle always takes from the fixture"
        if matches_any(relative, list(self.protected)):
            return f"{relative} is protected (the fixture's tests and configuration)"
        if not matches_any(relative, list(self.editable)):
            return f"{relative} is outside the editable paths ({', '.join(self.editable) or 'none'})"
        return None

    def allows(self, relative: str) -> bool:
        return self.refusal(relative) is None

    def kind(self, relative: str) -> str:
        """What kind of tampering a dropped change to this path is."""
        return _never(relative) or (TEST_FILES if matches_any(relative, list(self.protected)) else OTHER)

    def tamper_kind(self, dropped: list[str]) -> str:
        kinds = {self.kind(path) for path in dropped}
        return next((kind for kind in TAMPER_ORDER if kind in kinds), OTHER)

    def describe(self) -> str:
        """The editable paths as the task text tells the student."""
        return ", ".join(self.editable) if self.editable else "(none)"
