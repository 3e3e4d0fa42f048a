"""Running shell commands for the student and the oracle: timeout, process group, clean env, capped output."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .languages import command_env as language_command_env
from .languages import home_defaults, jobs_variables, passed_env
from .quota import QuotaWatch
from .sandbox import Sandbox, release_cgroup
from .tempdirs import make_owned

# Fixtures must not flake on the host's locale, timezone or hash seed (DESIGN.md section 7).
DETERMINISTIC_ENV = {"TZ": "UTC", "PYTHONHASHSEED": "0", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
DEFAULT_OUTPUT_CAP = 64 * 1024


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int | None  # None when the command was killed for its timeout
    output: str
    seconds: float
    timed_out: bool = False
    truncated_bytes: int = 0
    stopped: str = ""  # why the harness stopped the command (the workspace quota)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.stopped

    def tail(self, chars: int = 2000) -> str:
        return self.output if len(self.output) <= chars else "…" + self.output[-chars:]

    def describe(self) -> str:
        if self.timed_out:
            return f"timed out after {self.seconds:.0f}s"
        if self.stopped:
            return f"stopped: {self.stopped}"
        return f"exit code {self.exit_code}"


def toolchain_env() -> dict[str, str]:
    """The pass-through part of the environment (each language's toolchain variables), with the
    toolchain homes made explicit (rustup's and cargo's).

    HOME is replaced for commands, so cargo would otherwise look for its toolchain there.
    """
    env = {key: os.environ[key] for key in passed_env() if key in os.environ}
    home = Path.home()
    for key, folder in home_defaults():
        default = home / folder
        if key not in env and default.is_dir():
            env[key] = str(default)
    env.setdefault("PATH", os.defpath)
    # Python fixtures' `python -m pytest`, ruff and mypy resolve to the arena's own environment.
    interpreter_bin = str(Path(sys.executable).parent)
    if interpreter_bin not in env["PATH"].split(os.pathsep):
        env["PATH"] = interpreter_bin + os.pathsep + env["PATH"]
    return env


# A process's share of the cores for each build; 0: the toolchain's default (all of them).
_BUILD_JOBS = 0


def share_cores(jobs: int) -> None:
    """Under -n, each worker's builds run ``jobs`` jobs (cores / workers, as its model gets that many
    threads): two workers' cargo at two jobs each on two cores spent 6-10% more CPU for the same
    wall time than at one each."""
    global _BUILD_JOBS
    _BUILD_JOBS = max(0, jobs)


def command_env(home: Path, tmp: Path) -> dict[str, str]:
    env = toolchain_env()
    env.update(DETERMINISTIC_ENV)
    env.update(
        HOME=str(home),
        TMPDIR=str(tmp),
        TERM="dumb",
        NO_COLOR="1",
    )
    env.update(language_command_env())  # CARGO_TERM_COLOR, PYTHONNOUSERSITE...: each language's own
    if _BUILD_JOBS:
        env.update(dict.fromkeys(jobs_variables(), str(_BUILD_JOBS)))
    return env


class _CappedReader(threading.Thread):
    """Drains a pipe keeping the head and the tail of the output (the verdict of a test run is at
    its end) within ``cap`` bytes: a command printing gigabytes neither fills memory nor blocks."""

    def __init__(self, stream: IO[bytes], cap: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.half = stream, cap // 2
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def run(self) -> None:
        while chunk := self.stream.read(65536):
            room = self.half - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            self.tail += chunk
            excess = len(self.tail) - self.half
            if excess > 0:
                del self.tail[:excess]
                self.dropped += excess

    def text(self) -> str:
        middle = f"\n[output truncated: {self.dropped} bytes omitted]\n" if self.dropped else ""
        raw = self.head.decode("utf-8", errors="replace") + middle + self.tail.decode("utf-8", errors="replace")
        return raw.replace("\x00", "\\0")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_command(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout_s: float,
    output_cap: int = DEFAULT_OUTPUT_CAP,
    display: str | None = None,
    sandbox: Sandbox | None = None,
    quota: QuotaWatch | None = None,
    writable: tuple[Path, ...] = (),
) -> CommandResult:
    """Run ``argv`` in its own process group; stdout and stderr merged, decoded leniently.

    The whole group is killed when the command ends or times out, so a background process a
    student starts cannot outlive its turn.
    """
    started = time.monotonic()
    display = display or " ".join(argv)
    sandbox = sandbox or Sandbox(kind="none")
    argv, env = sandbox.wrap(argv, cwd, env, writable)
    preexec, cgroup = sandbox.preexec()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec,
        )
    except OSError as exc:
        release_cgroup(cgroup)
        return CommandResult(display, 127, f"cannot start command: {exc}", time.monotonic() - started)
    assert proc.stdout is not None  # stdout=PIPE
    reader = _CappedReader(proc.stdout, output_cap)
    reader.start()
    if quota is not None:
        quota.start(lambda: _kill_group(proc))
    timed_out = False
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        _kill_group(proc)
        proc.wait()
        if quota is not None:
            quota.finish()
    reader.join(timeout=5)
    with contextlib.suppress(OSError):
        proc.stdout.close()  # else a ResourceWarning per command, an error under `-W error`
    release_cgroup(cgroup)
    stopped = quota.breach if quota is not None and quota.breach else ""
    return CommandResult(
        display,
        None if timed_out else proc.returncode,
        reader.text(),
        time.monotonic() - started,
        timed_out=timed_out,
        truncated_bytes=reader.dropped,
        stopped=stopped,
    )


def private_dirs(prefix: str) -> tuple[Path, Path]:
    """A throwaway HOME and TMPDIR for commands, outside the workspace so they never show in diffs."""
    base = make_owned(prefix)
    home, tmp = base / "home", base / "tmp"
    home.mkdir()
    tmp.mkdir()
    return home, tmp


def run_shell(
    command: str,
    *,
    cwd: Path,
    home: Path,
    tmp: Path,
    timeout_s: float,
    output_cap: int = DEFAULT_OUTPUT_CAP,
    sandbox: Sandbox | None = None,
    quota: QuotaWatch | None = None,
    extra_env: dict[str, str] | None = None,
    writable: tuple[Path, ...] = (),
) -> CommandResult:
    """A shell command line (student ``shell`` tool, oracle, compliance) in the workspace."""
    return run_command(
        ["bash", "-c", command],
        cwd=cwd,
        env={**command_env(home, tmp), **(extra_env or {})},
        writable=writable,
        timeout_s=timeout_s,
        output_cap=output_cap,
        display=command,
        sandbox=sandbox,
        quota=quota,
    )
