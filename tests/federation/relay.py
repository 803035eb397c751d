"""A relay between two deployments, played by the test: the network between B and A.

A is started with the relay's URL as its issuer, so B fetches A's lists and sends A its receipts
through the relay, which passes everything on to A and back. B never signs a receipt badly, so
a receipt spoiled on the way comes from here; and A's answer to each receipt is kept, for the
test to read what B was told.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import httpx
import msgspec

from greenlane.domain.federation import claimed_subject
from greenlane.federation_demo import free_port

from .serving import serving

RECEIPTS_PATH = "/v1/federation/crossings"
# What a request or an answer keeps on its way through; the rest is the relay's own business.
PASSED_ON = ("accept", "content-type", "cache-control", "location")


class _Submitted(msgspec.Struct):
    receipt: str


@dataclass
class Relay:
    """Listens on ``port`` and passes every request on to ``target_port``."""

    target_port: int
    port: int = 0
    spoil_receipts: bool = False
    # A's answers to the receipts that went through, with the clearance each receipt was for.
    receipt_answers: list[tuple[str | None, httpx.Response]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answers_for(self, clearance_id: str) -> list[httpx.Response]:
        return [answer for sub, answer in self.receipt_answers if sub == clearance_id]


def spoiled(receipt: str) -> str:
    """The same receipt with one character of its signature changed: it no longer verifies."""
    header, claims, signature = receipt.split(".")
    changed = "B" if signature.startswith("A") else "A"
    return f"{header}.{claims}.{changed}{signature[1:]}"


@contextmanager
def relay() -> Iterator[Relay]:
    """A relay to ``target_port``, free for the caller to start A on."""
    running = Relay(target_port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._pass_on()

        def do_POST(self) -> None:
            self._pass_on()

        def _pass_on(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receipt = None
            if self.command == "POST" and self.path == RECEIPTS_PATH:
                receipt = msgspec.json.decode(body, type=_Submitted).receipt
                if running.spoil_receipts:
                    body = msgspec.json.encode(_Submitted(spoiled(receipt)))
            with httpx.Client(trust_env=False, timeout=30) as client:
                answer = client.request(
                    self.command,
                    f"http://127.0.0.1:{running.target_port}{self.path}",
                    content=body,
                    headers={k: v for k, v in self.headers.items() if k.lower() in PASSED_ON},
                )
            if receipt is not None:
                running.receipt_answers.append((claimed_subject(receipt), answer))
            self.send_response(answer.status_code)
            for name, value in answer.headers.items():
                if name in PASSED_ON:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test output is for the test."""

    with serving(Handler) as port:
        running.port = port
        yield running
