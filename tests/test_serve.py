"""`./run setup --server` and `./run serve` (issue 22 item 1) without the real llama-server: the
build steps on a sdist of a few lines, and serve against a stand-in that answers /health. The
real server's tests are in test_llama_server_real.py."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pytest_arena import llama_server_build as lsb
from pytest_arena.llama_build import cmake_flags, this_cpu
from pytest_arena.serve import main, student_spec

from .test_openai_student import free_port

FAKE_SERVER = """#!{python}
import http.server, json, sys
args = sys.argv[1:]
if args == ["--version"]:
    print("version: 1 (stand-in)"); sys.exit({version_status})
open({log!r}, "w").write(json.dumps(args))
port = int(args[args.index("--port") + 1])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""

CMAKE_PROJECT = """cmake_minimum_required(VERSION 3.14)
project(standin C)
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)  # as llama.cpp's CMakeLists does
add_executable(llama-server main.c)
"""


def fake_server(path: Path, log: Path, version_status: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FAKE_SERVER.format(python=sys.executable, log=str(log), version_status=version_status))
    path.chmod(0o755)
    return path


def sdist(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_the_server_gets_the_wheels_cpu_flags_and_fetches_nothing() -> None:
    flags = lsb.server_flags()
    assert flags[: len(cmake_flags(this_cpu()))] == cmake_flags(this_cpu())
    assert "-DLLAMA_USE_PREBUILT_UI=OFF" in flags and "-DLLAMA_BUILD_UI=OFF" in flags
    assert not [f for f in flags if "AMX" in f and f.endswith("=ON")]
    assert lsb.server_flags(cuda=True)[0] == "-DGGML_CUDA=on"


def test_the_server_is_cached_per_flags_under_the_xdg_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cpu, cuda = lsb.server_path(), lsb.server_path(cuda=True)
    assert cpu.is_relative_to(tmp_path / "pytest-arena" / "llama-server") and cpu != cuda
    assert cpu.name == cuda.name == "llama-server"


def test_a_sdist_without_vendored_llama_cpp_is_named(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="holds no vendor/llama.cpp"):
        lsb.build(sdist(tmp_path / "x.tar.gz", {"x-1/setup.py": ""}), tmp_path / "out" / "llama-server")
    with pytest.raises(SystemExit, match="cannot unpack"):
        lsb.build(tmp_path / "missing.tar.gz", tmp_path / "out" / "llama-server")


def test_a_sdist_member_outside_the_build_folder_is_refused(tmp_path: Path) -> None:
    evil = sdist(tmp_path / "evil.tar.gz", {"x-1/vendor/llama.cpp/../../../../escaped": "x"})
    with pytest.raises(SystemExit, match="cannot unpack"):
        lsb.build(evil, tmp_path / "out" / "llama-server")
    assert not list(tmp_path.rglob("escaped"))


@pytest.mark.slow
def test_the_build_caches_a_server_only_once_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lsb, "SERVER_OPTIONS", ("-DCMAKE_BUILD_TYPE=Release",))
    monkeypatch.setattr(lsb, "cmake_flags", lambda _cpu: [])  # the stand-in project has no ggml
    source = "x-1/vendor/llama.cpp/"
    good = 'int main(void) { puts("version: 1 (stand-in)"); return 0; }\n'
    files = {
        "x-1/vendor/llama.cpp/CMakeLists.txt": CMAKE_PROJECT,
        "x-1/vendor/llama.cpp/main.c": "#include <stdio.h>\n" + good,
    }
    dest = tmp_path / "cache" / "llama-server"
    assert lsb.build(sdist(tmp_path / "good.tar.gz", files), dest) == dest
    assert lsb.runs(dest) == "version: 1 (stand-in)"
    files[source + "main.c"] = "int main(void) { return 1; }\n"
    broken = tmp_path / "cache2" / "llama-server"
    with pytest.raises(SystemExit, match="does not run"):
        lsb.build(sdist(tmp_path / "bad.tar.gz", files), broken)
    assert not broken.parent.exists() or not list(broken.parent.iterdir())


def test_serve_names_a_missing_model_or_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert main([str(tmp_path / "nope.gguf")]) == 2
    assert "nope.gguf is not a file" in capsys.readouterr().err
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    assert main([str(model)]) == 2
    assert "run ./run setup --server first" in capsys.readouterr().err
    for port in ("-1", "99999"):  # before: an OverflowError traceback from bind()
        assert main([str(model), "--port", port]) == 2
        assert f"--port {port} is not a port; give one of 1-65535" in capsys.readouterr().err


def test_serve_refuses_a_port_another_server_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another server's /health would answer for ours, which could not bind: the arena would be
    pointed at a model nobody asked for."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fake_server(lsb.server_path(), tmp_path / "argv.json")
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        assert main([str(model), "--port", str(other.getsockname()[1])]) == 2
    assert "is in use; pass another with --port" in capsys.readouterr().err
    assert not (tmp_path / "argv.json").exists()  # no server was started


def serve_subprocess(model: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest_arena.serve", str(model), "--port", str(port), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.slow
def test_serve_prints_the_student_line_once_the_server_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    log = tmp_path / "argv.json"
    fake_server(lsb.server_path(), log)
    model, port = tmp_path / "tiny-model.gguf", free_port()
    model.write_bytes(b"GGUF")
    served = serve_subprocess(model, port, "--parallel", "3", "--", "-ngl", "99")
    try:
        assert served.stdout is not None
        lines = [served.stdout.readline() for _ in range(2)]
        assert lines[1].strip() == f"pytest --arena -n 3 --arena-student {student_spec(port, 'tiny-model')}", lines
        argv = json.loads(log.read_text())
        assert argv[argv.index("--host") + 1] == "127.0.0.1" and "--jinja" in argv
        assert argv[argv.index("--parallel") + 1] == "3" and argv[argv.index("--ctx-size") + 1] == str(3 * 8192)
        assert argv[argv.index("--alias") + 1] == "tiny-model" and argv[-2:] == ["-ngl", "99"]
    finally:
        served.terminate()
        assert served.wait(timeout=30) == 0  # SIGTERM stops the server and ends serve cleanly


@pytest.mark.slow
def test_serve_says_when_the_server_dies_before_it_is_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    binary = lsb.server_path()
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\necho 'error: unknown model format' >&2\nexit 1\n")
    binary.chmod(0o755)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    served = serve_subprocess(model, free_port())
    out, err = served.communicate(timeout=60)
    assert served.returncode == 1 and out == ""
    assert "unknown model format" in err and "exited with status 1 before it was ready" in err
