"""llama-server built from the llama.cpp that the llama-cpp-python sdist vendors, with the wheel's
CPU flags, cached per version and flags like the wheel (`./run setup --server`).

Standard library only, like llama_build.py: `./run` calls it before anything else is installed.
The server is linked statically (one file to cache and copy to a host) and configured to fetch
nothing: llama.cpp's CMake would otherwise download a prebuilt web UI, and nothing but PyPI,
Debian and npm is reachable from the machines this runs on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

try:
    from .llama_build import LLAMA_VERSION, cache_key, cmake_flags, this_cpu
except ImportError:  # run as a script by ./run (no package yet)
    from llama_build import LLAMA_VERSION, cache_key, cmake_flags, this_cpu  # type: ignore[no-redef,import-not-found,unused-ignore]

BINARY = "llama-server"
VENDORED = "vendor/llama.cpp"
# Only the server target, statically linked; no web UI (prebuilt or built), no HTTPS, no tests.
SERVER_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DGGML_CCACHE=OFF",
)


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pytest-arena" / "llama-server"


def server_flags(cuda: bool = False) -> list[str]:
    """The wheel's CPU flags (and CUDA where asked), then the server's own options."""
    flags = cmake_flags(this_cpu())
    return [*(["-DGGML_CUDA=on"] if cuda else []), *flags, *SERVER_OPTIONS]


def server_path(cuda: bool = False) -> Path:
    """Where the server for this version, CPU and backend lives (built or not)."""
    return cache_root() / cache_key(LLAMA_VERSION, server_flags(cuda)) / BINARY


def runs(binary: Path) -> str | None:
    """The server's --version line, or None when it is missing or dies (another CPU: SIGILL)."""
    try:
        done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout + done.stderr).strip()
    return text.splitlines()[0] if done.returncode == 0 and text else None


def _vendored(sdist: Path, into: Path) -> Path:
    """Unpacks only the vendored llama.cpp of the sdist (its members checked to stay inside)."""
    try:
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if f"/{VENDORED}/" in f"/{m.name}"]
            if not members:
                raise SystemExit(f"{sdist} holds no {VENDORED}: not a llama-cpp-python sdist")
            archive.extractall(into, members=members, filter="data")
    except (OSError, tarfile.TarError) as exc:
        raise SystemExit(f"{sdist}: cannot unpack it ({exc}); ./run setup --server downloads it again") from None
    top = members[0].name.split("/", 1)[0]
    return into / top / VENDORED


def build(sdist: Path, dest: Path, cuda: bool = False) -> Path:
    """Configures and builds llama-server from the sdist; puts the binary at ``dest`` only once
    it runs, so a failed or interrupted build leaves no half-made server behind."""
    jobs = str(os.cpu_count() or 2)
    with tempfile.TemporaryDirectory(prefix="arena-server-build-") as tmp:
        source = _vendored(sdist, Path(tmp) / "src")
        out = Path(tmp) / "build"
        subprocess.run(["cmake", "-S", str(source), "-B", str(out), *server_flags(cuda)], check=True)
        subprocess.run(["cmake", "--build", str(out), "--target", BINARY, "-j", jobs], check=True)
        built = out / "bin" / BINARY
        if runs(built) is None:
            raise SystemExit(f"the {BINARY} just built at {built} does not run (--version failed)")
        dest.parent.mkdir(parents=True, exist_ok=True)
        staged = dest.with_name(dest.name + ".tmp")
        shutil.copy2(built, staged)
        staged.replace(dest)
    return dest


def _main(argv: list[str]) -> int:
    cuda = "--cuda" in argv
    args = [a for a in argv if a != "--cuda"]
    if args[:1] == ["path"]:
        print(server_path(cuda))
        return 0
    if args[:1] == ["build"] and len(args) == 2:
        try:
            build(Path(args[1]), server_path(cuda), cuda)
        except subprocess.CalledProcessError as exc:
            print(f"building {BINARY} failed: {' '.join(exc.cmd[:3])} ... exited {exc.returncode}", file=sys.stderr)
            return 1
        print(server_path(cuda))
        return 0
    print("usage: llama_server_build.py path [--cuda] | build SDIST.tar.gz [--cuda]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
