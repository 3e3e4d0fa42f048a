"""A GGUF's chat template rendered in a child process with a memory and time budget.

The Jinja sandbox stops escapes, not exhaustion: ``'x' * 3000000000``, nested ``range`` loops or a
recursive macro pass gigabytes or minutes inside whatever process renders them, and a template is
rendered every turn. One long-lived child per model (not a fork per turn: a request costs a pipe
round trip) renders under ``RLIMIT_AS``, each request under a deadline; a template past either is
a DriverError naming it, and the child is replaced."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..engine.student import StudentError
from .chat_template import TemplateRenderError

RENDER_S = 10.0
MEMORY_BYTES = 1 << 30
OUTPUT_BYTES = 64 << 20

# The child loads chat_template.py by its path: the package's __init__ would import the engine.
_CHILD = r"""
import json, resource, sys, importlib.util
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]), int(sys.argv[2])))
spec = importlib.util.spec_from_file_location("arena_chat_template", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)

def answer(work):
    try:
        return {"text": work()}
    except module.TemplateRenderError as exc:
        return {"reject": str(exc)}
    except MemoryError:
        return {"fault": "needed more than its memory budget"}
    except RecursionError:
        return {"fault": "recursed too deep (a recursive macro or loop)"}
    except BaseException as exc:
        return {"fault": f"failed with {type(exc).__name__}: {str(exc)[:200]}"}

init = json.loads(sys.stdin.readline())
made = {}
def compile_it():
    made["t"] = module.ChatTemplate(init["source"], bos_token=init["bos"], eos_token=init["eos"])
    return ""
def say(reply):
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
say(answer(compile_it))
for line in sys.stdin:
    req = json.loads(line)
    say(answer(lambda: made["t"].render(req["messages"], req["tools"], add_generation_prompt=req["gen"])))
"""


class _OverBudget(Exception):
    pass


class TemplateProcess:
    """The same interface as ChatTemplate; ``origin`` names the template in every error."""

    def __init__(self, source: str, *, origin: str, bos_token: str = "", eos_token: str = "") -> None:
        self.origin = origin
        self._init = json.dumps({"source": source, "bos": bos_token, "eos": eos_token})
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._start()  # a template that does not compile is known at load time

    def render(
        self,
        messages: Sequence[dict[str, Any]],
        tools: Sequence[dict[str, Any]] = (),
        *,
        add_generation_prompt: bool = True,
    ) -> str:
        request = {"messages": list(messages), "tools": list(tools), "gen": add_generation_prompt}
        with self._lock:
            if self._proc is None:
                self._start()
            return self._ask(json.dumps(request, default=str))

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _start(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _CHILD, str(Path(__file__).with_name("chat_template.py")), str(MEMORY_BYTES)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._ask(self._init)

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()

    def _ask(self, line: str) -> str:
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(line.encode() + b"\n")
            proc.stdin.flush()
            reply = json.loads(self._read_line(proc.stdout.fileno()))
        except (OSError, ValueError):
            reply = {"fault": f"stopped its renderer (exit code {proc.poll()})"}
        except _OverBudget as exc:
            reply = {"fault": str(exc)}
        if "text" in reply:
            return str(reply["text"])
        self._stop()  # a child past its budget may be in any state: the next render starts a new one
        if "reject" in reply:
            raise TemplateRenderError(str(reply["reject"]))
        raise StudentError(
            f"the chat template of {self.origin} {reply['fault']}; each render may take {RENDER_S:g}s and "
            f"{MEMORY_BYTES >> 20} MiB: fix the template (gguf-new-metadata --chat-template-file) or use another model"
        )

    @staticmethod
    def _read_line(fd: int) -> bytes:
        deadline = time.monotonic() + RENDER_S
        data = bytearray()
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise _OverBudget(f"ran past {RENDER_S:g}s")
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise OSError("the renderer exited")
            data += chunk
            if len(data) > OUTPUT_BYTES:
                raise _OverBudget(f"rendered more than {OUTPUT_BYTES >> 20} MiB")
        return bytes(data)
