"""`./run serve MODEL.gguf [--port P] [--parallel N]`: the llama-server of `./run setup --server`
on 127.0.0.1 with --jinja, and the --arena-student line that points the arena at it.

The line is printed once the server answers /health, so whatever reads it (a person, a script,
a test) can start right away. The server's own log goes to stderr; stopping this command (Ctrl-C,
SIGTERM) stops the server.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .engine.student import StudentError
from .llama_server_build import server_path
from .students.llama_cpp import default_model_path

READY_TIMEOUT_S = 600.0  # a large GGUF read from a slow disk
CTX_PER_SLOT = 8192  # SmolLM2's trained context; llama-server divides -c between its slots


def student_spec(port: int, name: str) -> str:
    return f"openai:http://127.0.0.1:{port}#{name}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="./run serve", description="Serve a GGUF with llama-server (--jinja) for the arena's openai: student."
    )
    parser.add_argument("model", help="the GGUF file, or 'default' (the default student's)")
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080)")
    parser.add_argument("--parallel", type=int, default=1, help="slots: requests decoded together (-n N workers)")
    parser.add_argument("--ctx-size", type=int, default=CTX_PER_SLOT, help="context of each slot (default 8192)")
    parser.add_argument("--name", help="the model name the arena asks for (default: the file's stem)")
    parser.epilog = "Arguments after -- go to llama-server as they are (e.g. -- -ngl 99)."
    return parser


def server_command(binary: Path, args: argparse.Namespace, name: str, extra: list[str]) -> list[str]:
    return [
        str(binary), "-m", str(args.model), "--alias", name, "--host", "127.0.0.1", "--port", str(args.port),
        "--jinja", "--parallel", str(args.parallel), "--ctx-size", str(args.ctx_size * args.parallel),
        *extra,
    ]  # fmt: skip


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def port_taken(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port already: its /health would answer for a server
    of ours that could not bind, and the arena would be pointed at the wrong model."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def wait_ready(server: subprocess.Popen[bytes], port: int, timeout_s: float = READY_TIMEOUT_S) -> str | None:
    """None once /health answers 200; otherwise why not (the server exited, or never answered)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return f"llama-server exited with status {server.returncode} before it was ready (its log is above)"
        if _healthy(port):
            return None
        time.sleep(0.25)
    return f"llama-server did not answer http://127.0.0.1:{port}/health within {timeout_s:g}s"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cut = argv.index("--") if "--" in argv else len(argv)
    args, extra = _parser().parse_args(argv[:cut]), argv[cut + 1 :]
    try:
        args.model = default_model_path() if args.model == "default" else Path(args.model)
    except StudentError as exc:
        print(f"./run serve: {exc}", file=sys.stderr)
        return 2
    if not args.model.is_file():
        print(f"./run serve: {args.model} is not a file (give the path of a .gguf model)", file=sys.stderr)
        return 2
    if args.parallel < 1 or args.ctx_size < 256:
        print("./run serve: --parallel must be >= 1 and --ctx-size >= 256", file=sys.stderr)
        return 2
    if not 1 <= args.port <= 65535:
        print(f"./run serve: --port {args.port} is not a port; give one of 1-65535", file=sys.stderr)
        return 2
    binary = server_path(cuda=os.environ.get("ARENA_CUDA") == "1")
    if not binary.is_file():
        print(f"./run serve: no llama-server at {binary}: run ./run setup --server first", file=sys.stderr)
        return 2
    if port_taken(args.port):
        print(f"./run serve: port {args.port} on 127.0.0.1 is in use; pass another with --port", file=sys.stderr)
        return 2
    name = args.name or args.model.name.removesuffix(".gguf")
    server = subprocess.Popen(server_command(binary, args, name, extra), stdout=sys.stderr)

    def stop(signum: int, _frame: object) -> None:
        server.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    problem = wait_ready(server, args.port)
    if problem is not None:
        server.terminate()
        server.wait()
        print(f"./run serve: {problem}", file=sys.stderr)
        return 1
    print(f"serving {args.model} as {name!r} with {args.parallel} slot(s); point the arena at it with:", flush=True)
    workers = f"-n {args.parallel} " if args.parallel > 1 else ""  # a worker per slot: the batch fills
    print(f"pytest --arena {workers}--arena-student {student_spec(args.port, name)}", flush=True)
    status = server.wait()
    return 0 if status in (0, -signal.SIGTERM, -signal.SIGINT) else status


if __name__ == "__main__":
    sys.exit(main())
