"""A scripted OpenAI-compatible chat server on 127.0.0.1 (in a thread) for the openai: student tests:
each request gets the next scripted reply (the last one repeats) and is kept for the test to read."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar

Reply = TypeVar("Reply")


class ScriptedServer(ThreadingHTTPServer, Generic[Reply]):
    def __init__(self, replies: list[Reply], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.replies = replies
        self.requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def take(self, request: dict[str, Any]) -> Reply:
        """Keep the request; the reply scripted for it."""
        self.requests.append(request)
        return self.replies[min(len(self.requests), len(self.replies)) - 1]


class ScriptedHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass  # a test's output is not the place for an access log

    def request_body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        return body

    def send_body(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()

    def send_event(self, data: dict[str, Any] | str) -> None:
        self.wfile.write(f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode())


Server = TypeVar("Server", bound=ThreadingHTTPServer)


def serving(server: Server) -> Iterator[Server]:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
