"""A client that sends its headers and then trickles, or stops sending, its body: a real
``greenlane serve`` on loopback, spoken to over raw sockets, since an HTTP client library always
sends a whole body."""

from __future__ import annotations

import json
import os
import select
import socket
from collections.abc import Iterator

import pytest
from bench.harness import free_port, server

from greenlane.settings import Settings

# The setting under test, kept short; the bound below is for a hung test, never a measurement.
READ_TIMEOUT_SECONDS = 1
GIVE_UP_SECONDS = 20.0
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def address(environment: dict[str, str], settings: Settings) -> Iterator[tuple[str, int]]:
    """A server of its own (``settings`` has made the session's signing keys)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENLANE_")}
    env.update(environment)
    env["GREENLANE_BODY_READ_TIMEOUT_SECONDS"] = str(READ_TIMEOUT_SECONDS)
    port = free_port()
    with server(env, workers=1, port=port):
        yield "127.0.0.1", port


def head(path: str, *, length: int, content_type: str = FORM) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: greenlane\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def answer_once_sent(sock: socket.socket, trickle: bytes = b"") -> bytes:
    """Everything the server sends until it closes the connection, one byte of ``trickle``
    sent every 0.2 s meanwhile (and none once it has answered)."""
    received = b""
    pending = trickle
    sock.setblocking(False)
    for _ in range(int(GIVE_UP_SECONDS / 0.2)):
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            chunk = sock.recv(65536)
            if not chunk:
                return received
            received += chunk
        elif pending and not received:
            sock.send(pending[:1])
            pending = pending[1:]
    pytest.fail(f"the server kept the connection open; it sent {received!r}")


def one_answer(sock: socket.socket) -> bytes:
    """One answer read from a connection that stays open: its head, then Content-Length bytes."""
    sock.settimeout(GIVE_UP_SECONDS)
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += sock.recv(65536)
    _, headers, body = status_headers_body(raw)
    while len(body) < int(headers["content-length"]):
        more = sock.recv(65536)
        raw, body = raw + more, body + more
    return raw


def status_headers_body(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head_part, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head_part.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def assert_timed_out(raw: bytes) -> None:
    status, headers, body = status_headers_body(raw)
    assert (status, headers["content-type"]) == (408, "application/problem+json"), raw
    assert headers["connection"] == "close"
    problem = json.loads(body)
    assert (problem["type"], problem["status"]) == ("urn:greenlane:problem:request-timeout", 408)


def test_a_body_that_stops_coming_is_answered_408_and_the_connection_closed(
    address: tuple[str, int],
) -> None:
    with socket.create_connection(address) as sock:
        sock.sendall(head("/oauth/token", length=100) + b"grant_type=client_cred")
        assert_timed_out(answer_once_sent(sock))


def test_a_body_that_trickles_in_is_cut_off_however_steady(address: tuple[str, int]) -> None:
    # A byte every 0.2 s never leaves the connection idle; the whole body would take minutes.
    body = b"grant_type=client_credentials&client_id=" + b"x" * 1000
    with socket.create_connection(address) as sock:
        sock.sendall(head("/oauth/token", length=len(body)))
        assert_timed_out(answer_once_sent(sock, trickle=body))


def test_an_answer_given_before_the_body_arrived_closes_the_connection(
    address: tuple[str, int],
) -> None:
    # No access token: 401 before the body is read, and the rest of it is not waited for.
    with socket.create_connection(address) as sock:
        sock.sendall(head("/v1/verify", length=1000, content_type="application/json") + b'{"to')
        status, headers, _ = status_headers_body(answer_once_sent(sock, trickle=b"k" * 1000))
        assert (status, headers["connection"]) == (401, "close")


def test_whole_bodies_keep_the_connection_open(address: tuple[str, int]) -> None:
    body = b"grant_type=client_credentials&client_id=nobody&client_secret=wrong"
    with socket.create_connection(address) as sock:
        for _ in range(2):  # the second request goes over the same connection
            sock.sendall(head("/oauth/token", length=len(body)) + body)
            raw = one_answer(sock)
            status, headers, _ = status_headers_body(raw)
            assert status == 401, raw
            assert "connection" not in headers
