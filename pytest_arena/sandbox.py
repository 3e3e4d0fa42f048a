"""Confinement for commands that run student-written code: bubblewrap namespaces, resource limits."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

GIB = 1 << 30
INSIDE_HOME = "/tmp/home"
INSTALL_HINT = (
    "install bubblewrap (apt-get install bubblewrap; ./run setup does it) or pass "
    "--arena-sandbox none to run student commands unconfined"
)


class SandboxUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Limits:
    """Per-process limits: a fork bomb or a 10 GB write fails the command, not the machine."""

    cpu_s: int = 900
    address_space: int = 16 * GIB  # rustc reserves a lot of virtual memory; this stops runaway growth
    file_size: int = 1 * GIB
    processes: int = 512  # pids cgroup cap for one command's process tree
    user_processes: int = 4096  # RLIMIT_NPROC counts all of the user's processes, so it is looser
    tmp_size: int = 512 * 1024 * 1024


@dataclass(frozen=True)
class Sandbox:
    """``kind`` is "bwrap" (root read-only, the workspace the only writable bind, private /tmp, no
    network, own pid namespace) or "none" (limits only). ``hidden`` folders (the corpus with its
    solutions, reports, the project's git history) are masked by empty tmpfs inside bwrap."""

    kind: str = "bwrap"
    hidden: tuple[Path, ...] = ()
    limits: Limits = field(default_factory=Limits)

    def check(self) -> None:
        if self.kind == "bwrap" and shutil.which("bwrap") is None:
            raise SandboxUnavailable(f"bwrap not found: {INSTALL_HINT}")
        if self.kind not in ("bwrap", "none"):
            raise SandboxUnavailable(f"unknown sandbox '{self.kind}': use bwrap or none")

    def wrap(self, argv: list[str], workspace: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """The command line and environment that run ``argv`` in ``workspace`` under this sandbox."""
        if self.kind == "none":
            return argv, env
        inside = {**env, "HOME": INSIDE_HOME, "TMPDIR": "/tmp"}
        outer = [
            "bwrap",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--size",
            str(self.limits.tmp_size),
            "--tmpfs",
            "/tmp",
            "--dir",
            INSIDE_HOME,
        ]
        for root in _tool_roots_in_tmp(env, workspace):
            outer += ["--ro-bind", str(root), str(root)]
        for path in self.hidden:
            if path.is_dir() and not _contains(path, workspace):
                outer += ["--tmpfs", str(path)]
        outer += [
            "--bind",
            str(workspace),
            str(workspace),
            "--chdir",
            str(workspace),
            "--unshare-net",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--",
        ]
        return outer + argv, inside

    def preexec(self) -> tuple[Callable[[], None], Path | None]:
        """What the child runs before exec (resource limits, joining a pids cgroup where one can be
        made) and that cgroup, for release_cgroup once the command is over."""
        limits = self.limits
        procs_file = _pids_cgroup(limits.processes)

        def apply() -> None:
            for name, value in (
                ("RLIMIT_CPU", limits.cpu_s),
                ("RLIMIT_AS", limits.address_space),
                ("RLIMIT_FSIZE", limits.file_size),
                ("RLIMIT_NPROC", limits.user_processes),
                ("RLIMIT_CORE", 0),
            ):
                with contextlib.suppress(ValueError, OSError):
                    resource.setrlimit(getattr(resource, name), (value, value))
            if procs_file is not None:
                with contextlib.suppress(OSError):
                    procs_file.write_text(str(os.getpid()))

        return apply, procs_file


def _contains(folder: Path, path: Path) -> bool:
    return folder == path or folder in path.parents


def _tool_roots_in_tmp(env: dict[str, str], workspace: Path) -> list[Path]:
    """Toolchains and virtual environments that live under /tmp (a CI checkout cloned there, a
    venv made by tox) would vanish behind the private /tmp: these are bound back, read-only.
    A ``bin`` folder brings its parent, where a venv keeps its packages."""
    named = [*env.get("PATH", "").split(os.pathsep), sys.prefix]
    named += [env[key] for key in ("CARGO_HOME", "RUSTUP_HOME", "VIRTUAL_ENV") if key in env]
    tmp = Path("/tmp")
    roots: dict[Path, None] = {}
    for entry in filter(None, named):
        path = Path(entry)
        root = path.parent if path.name == "bin" else path
        if tmp in root.parents and root.is_dir() and not _contains(root, workspace):
            roots[root] = None
    return list(roots)


def _pids_cgroup(limit: int) -> Path | None:
    """A fresh pids cgroup capped at ``limit`` (RLIMIT_NPROC does not bind root, so a root-run
    fork bomb is stopped here). Best effort: None where no writable pids controller exists."""
    for base in (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")):
        if not base.is_dir() or not os.access(base, os.W_OK):
            continue
        group = base / f"arena-{uuid.uuid4().hex[:12]}"
        try:
            group.mkdir()
        except OSError:
            continue
        try:
            (group / "pids.max").write_text(str(limit))
            return group / "cgroup.procs"
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
    return None


def release_cgroup(procs_file: Path | None) -> None:
    if procs_file is not None:
        with contextlib.suppress(OSError):
            procs_file.parent.rmdir()
