"""One student turn bounded in time, even for a backend that hangs (the per-turn timeout)."""

from __future__ import annotations

import threading
from typing import Any

from .student import GenerationResult, Message, Student, StudentConfig, StudentError

TURN_GRACE_S = 5.0  # backends that enforce the timeout themselves get to return first


def generate_within(student: Student, messages: list[Message], config: StudentConfig) -> GenerationResult:
    """``student.generate`` on a daemon thread, not an executor: a hung call must not keep the
    process from exiting. A backend with ``cancel()`` is told to stop, so the next turn does not
    decode on a model still in use."""
    if config.turn_timeout_s <= 0:
        return student.generate(messages, config)
    box: dict[str, Any] = {}

    def call() -> None:
        try:
            box["result"] = student.generate(list(messages), config)
        except BaseException as exc:  # handed to the session thread, which re-raises it
            box["error"] = exc

    worker = threading.Thread(target=call, name="arena-turn", daemon=True)
    worker.start()
    worker.join(config.turn_timeout_s + TURN_GRACE_S)
    if worker.is_alive():
        student.cancel()
        raise StudentError(
            f"student '{student.name}' gave no answer within "
            f"{config.turn_timeout_s:g}s (per-turn timeout, --arena-turn-timeout)"
        )
    if "error" in box:
        raise box["error"]
    result: GenerationResult = box["result"]
    return result
