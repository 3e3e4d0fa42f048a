"""Confinement for commands that run student-written code: bubblewrap namespaces, resource limits."""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import shutil
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .languages import ignored_dirs, tool_homes

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
    shm_size: int = 64 * 1024 * 1024  # /dev/shm is memory too: unbounded, it held 3 GB outside the quota


@dataclass(frozen=True)
class Sandbox:
    """``kind`` is "bwrap" (root read-only, the workspace the only writable bind, private /tmp and
    /dev/shm of bounded size, no network, own pid namespace) or "none" (limits only). ``hidden``
    folders (the corpus with its solutions, reports, the project's git history: see
    :func:`masked_paths`) and every home folder are masked by empty tmpfs inside bwrap; toolchains
    that live in a home (rustup, pyenv, a venv) are bound back read-only."""

    kind: str = "bwrap"
    hidden: tuple[Path, ...] = ()
    limits: Limits = field(default_factory=Limits)

    def check(self) -> None:
        if self.kind == "bwrap" and shutil.which("bwrap") is None:
            raise SandboxUnavailable(f"bwrap not found: {INSTALL_HINT}")
        if self.kind not in ("bwrap", "none"):
            raise SandboxUnavailable(f"unknown sandbox '{self.kind}': use bwrap or none")

    def wrap(
        self, argv: list[str], workspace: Path, env: dict[str, str], writable: tuple[Path, ...] = ()
    ) -> tuple[list[str], dict[str, str]]:
        """The command line and environment that run ``argv`` in ``workspace`` under this sandbox;
        ``writable`` folders (the oracle's evidence folder) are bound writable beside it."""
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
            "--remount-ro",
            "/dev",
            "--size",
            str(self.limits.shm_size),
            "--tmpfs",
            "/dev/shm",
            "--proc",
            "/proc",
            "--size",
            str(self.limits.tmp_size),
            "--tmpfs",
            "/tmp",
            "--dir",
            INSIDE_HOME,
        ]
        homes = home_folders()
        for path in homes:
            outer += ["--tmpfs", str(path)]
        for path in _tool_roots_in_homes(env, homes):
            outer += ["--ro-bind", str(path), str(path)]
        for source, dest in _tool_roots_in_tmp(env, workspace):
            outer += ["--ro-bind", str(source), str(dest)]
        for path in self.hidden:
            if path.is_dir() and not _contains(path, workspace):
                outer += ["--tmpfs", str(path)]
        for path in writable:
            outer += ["--bind", str(path), str(path)]
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


def home_folders() -> list[Path]:
    """/root, every /home/*, and this user's home: where host secrets and canaries live."""
    found = [Path("/root"), Path.home(), Path(os.environ.get("HOME") or "/root")]
    with contextlib.suppress(OSError):
        found += sorted(p for p in Path("/home").iterdir() if p.is_dir())
    homes = {_resolved(p) for p in found if p.is_dir()}
    return sorted(h for h in homes if h != Path("/") and not any(o in h.parents for o in homes))


def _tool_roots_in_homes(env: dict[str, str], homes: list[Path]) -> list[Path]:
    """What of a masked home a command needs: the folders the languages' toolchain variables
    (CARGO_HOME, RUSTUP_HOME, VIRTUAL_ENV) name, the interpreter's prefixes, and PATH's folders
    themselves (a venv's ``bin`` brings the venv); never a whole home, nor a sibling of these
    (~/.ssh, ~/.config)."""
    named = [env.get(key, "") for key in tool_homes()]
    named += [sys.prefix, sys.base_prefix, str(_resolved(Path(sys.executable)).parent.parent)]
    for entry in filter(None, env.get("PATH", "").split(os.pathsep)):
        path = Path(entry)
        named.append(str(path.parent if path.name == "bin" and (path.parent / "pyvenv.cfg").is_file() else path))
    binds: set[Path] = set()
    for entry in filter(None, named):
        for candidate in (Path(entry), _resolved(Path(entry))):
            if candidate.is_dir() and any(home in candidate.parents for home in homes):
                binds.add(candidate)
    return sorted(binds, key=lambda p: (len(p.parts), str(p)))  # parents before children


ANSWER_DIRS = ("solution", "noncompliant", "hidden")
_NEVER_WALKED = frozenset({"node_modules", "repo"})  # and every language's build output and caches


@functools.lru_cache(maxsize=8)
def answer_folders(project: Path) -> tuple[Path, ...]:
    """Folders that hide every fixture's solution/, noncompliant/ and hidden/ under the project
    checkout, whatever corpus it belongs to: the current corpus is masked whole, the others must
    not be readable. A folder holding nothing but fixtures (a corpus) is one mask; a fixture
    elsewhere gives its answer folders. Each mask is a mount at every command's start: the 415
    answer folders of the synthesized corpus, masked one by one, cost 39 ms a command. Resolved
    here, once."""
    found: list[Path] = []
    ignored = ignored_dirs()
    for dirpath, dirnames, filenames in os.walk(project):
        base = Path(dirpath)
        if "meta.toml" in filenames:
            found += [_resolved(base / name) for name in ANSWER_DIRS if name in dirnames]
            dirnames[:] = []  # a fixture holds no further fixtures
            continue
        if base != project and dirnames and all((base / d / "meta.toml").is_file() for d in dirnames):
            found.append(_resolved(base))
            dirnames[:] = []
            continue
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in _NEVER_WALKED and d not in ignored]
    return tuple(found)


def masked_paths(project: Path, *named: Path) -> tuple[Path, ...]:
    """The ``hidden`` folders of an item's sandbox: ``named`` (the corpus, the reports, the fixture),
    the project's git history and every corpus's answers under the project."""
    paths = [_resolved(p) for p in (*named, project / ".git")]
    return tuple(dict.fromkeys([*paths, *answer_folders(project.resolve())]))


def _contains(folder: Path, path: Path) -> bool:
    return folder == path or folder in path.parents


def _tool_roots_in_tmp(env: dict[str, str], workspace: Path) -> list[tuple[Path, Path]]:
    """(source, destination) binds for toolchains and virtual environments that live under /tmp
    (a CI checkout cloned there, a venv made by tox) and would vanish behind the private /tmp.
    A ``bin`` folder brings its parent, where a venv keeps its packages. Links are followed: a venv
    reached through a link that points into /tmp (or a venv whose interpreter does) is bound at its
    resolved place as well as at the name it is known by, so shebangs through either work."""
    named = [*env.get("PATH", "").split(os.pathsep), sys.prefix, sys.base_prefix, sys.executable]
    named += [env[key] for key in tool_homes() if key in env]
    tmp = Path("/tmp")
    binds: dict[Path, Path] = {}
    for entry in filter(None, named):
        path = Path(entry)
        for candidate in (path, _resolved(path)):
            root = candidate.parent if candidate.is_file() else candidate
            root = root.parent if root.name == "bin" else root
            if tmp in root.parents and root.is_dir() and not _contains(root, workspace):
                binds.setdefault(root, _resolved(root))
    # Parents before children: a nested bind must not be hidden by its parent's.
    return [(source, dest) for dest, source in sorted(binds.items(), key=lambda kv: len(kv[0].parts))]


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path


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
