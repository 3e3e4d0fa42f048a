"""Every byte an openai: student reads from a server is counted: a server (hostile, or broken and
looping) cannot fill the process's memory within the turn timeout.

httpx reads a whole body into memory (``.read()``, ``.json()``) and joins a stream's line pieces
until a newline comes, however long; both are replaced here by reads that stop at a cap and say so.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

import httpx

from ..engine.student import StudentError

# An answer of a few thousand tokens is well under a megabyte, even streamed with per-token
# timings; a whole file written in one call is a few more. 64 MiB leaves room and still bounds.
MAX_ANSWER_BYTES = 64 * 2**20
MAX_PROBE_BYTES = 2**20  # /props, /v1/models


class AnswerTooLarge(StudentError):
    pass


# Dropped when a capped body becomes a Response again: the bytes are already decoded and whole.
TRANSPORT_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def read_response(response: httpx.Response, url: str) -> httpx.Response:
    """A response opened with ``client.stream``, read whole (up to the cap), as a plain Response."""
    body = capped_body(response, url)
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in TRANSPORT_HEADERS]
    return httpx.Response(response.status_code, headers=headers, content=body)


def _too_large(url: str, limit: int) -> AnswerTooLarge:
    return AnswerTooLarge(f"{url}: the server's answer passed {limit:,} bytes; stopped reading (a size cap)")


def capped_body(response: httpx.Response, url: str, limit: int | None = None) -> bytes:
    """The body of a response opened with ``client.stream``, read up to ``limit`` bytes."""
    limit = MAX_ANSWER_BYTES if limit is None else limit
    parts, size = [], 0
    for piece in response.iter_bytes():
        size += len(piece)
        if size > limit:
            raise _too_large(url, limit)
        parts.append(piece)
    return b"".join(parts)


def capped_lines(response: httpx.Response, url: str, limit: int | None = None) -> Iterator[str]:
    """The lines of a streamed body (server-sent events), ``limit`` bytes in all."""
    limit = MAX_ANSWER_BYTES if limit is None else limit
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending: list[str] = []  # the pieces of a line not ended yet (only new text is split: no rescans)
    size = 0
    for piece in response.iter_bytes():
        size += len(piece)
        if size > limit:
            raise _too_large(url, limit)
        first, *rest = decoder.decode(piece).split("\n")
        pending.append(first)
        for line in rest:
            yield "".join(pending).removesuffix("\r")
            pending = [line]
    pending.append(decoder.decode(b"", final=True))
    if last := "".join(pending):
        yield last.removesuffix("\r")
