"""Where a number came from: the project's commit and the versions that produced it."""

from __future__ import annotations

import functools
import subprocess
from importlib import metadata
from pathlib import Path
from typing import TypedDict


class Provenance(TypedDict):
    git_commit: str
    git_dirty: bool
    arena_version: str
    pytest_version: str
    llama_cpp_version: str


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


@functools.cache
def provenance(root: Path) -> Provenance:
    commit, dirty = "", False
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        commit = head.stdout.strip() if head.returncode == 0 else ""
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        dirty = bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "arena_version": _version("pytest-arena"),
        "pytest_version": _version("pytest"),
        "llama_cpp_version": _version("llama-cpp-python"),
    }
