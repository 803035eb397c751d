"""A partner's webhook receiver for the tests: a real HTTP server on 127.0.0.1, in a thread.

It records every request it reads (headers and the exact body) and answers as the test says:
a status (with headers), a redirect, or a hang longer than the sender's timeout. It can be
taken down and brought back on the same port, as a partner's server restarting would be.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from greenlane.client.webhooks import WebhookReceiver
from greenlane.wire.webhooks import WebhookEvent


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answer = Answer()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def up(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with owner._lock:
                    owner.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    answer = owner.answer
                if answer.hang:
                    time.sleep(answer.hang)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def events(self, secret: str) -> list[tuple[str, WebhookEvent]]:
        """Every request so far, verified with ``secret`` as a partner app does: (id, event)."""
        receiver = WebhookReceiver(secret)
        with self._lock:
            received = list(self.received)
        return [(r.headers["webhook-id"], receiver.receive(r.body, r.headers)) for r in received]

    def count(self) -> int:
        with self._lock:
            return len(self.received)


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    try:
        yield receiver
    finally:
        receiver.down()
