"""The fault proxy does what each mode says, against a local echo server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from reliability.proxy import FaultProxy, Mode


@pytest.fixture
def echo() -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    def answer(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def round_trip(port: int, timeout: float = 2.0) -> float:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        started = time.monotonic()
        conn.sendall(b"ping")
        assert conn.recv(4) == b"ping"
        return time.monotonic() - started


def test_pass_and_latency(echo: int) -> None:
    with FaultProxy("127.0.0.1", echo) as proxy:
        assert round_trip(proxy.port) < 0.1
        proxy.set_mode(Mode.LATENCY, latency_ms=150)
        assert round_trip(proxy.port) >= 0.3  # 150 ms each way
        proxy.set_mode(Mode.PASS)
        assert round_trip(proxy.port) < 0.1


def test_blackhole_holds_and_heals(echo: int) -> None:
    with FaultProxy("127.0.0.1", echo) as proxy:
        held = socket.create_connection(("127.0.0.1", proxy.port), timeout=0.3)
        proxy.set_mode(Mode.BLACKHOLE)
        held.sendall(b"ping")
        with pytest.raises(TimeoutError):
            held.recv(4)
        proxy.set_mode(Mode.PASS)
        held.settimeout(2)
        assert held.recv(4) == b"ping"
        held.close()


def test_reset_cuts_open_and_new_connections(echo: int) -> None:
    with FaultProxy("127.0.0.1", echo) as proxy:
        open_one = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        open_one.sendall(b"ping")
        assert open_one.recv(4) == b"ping"
        proxy.set_mode(Mode.RESET)
        with pytest.raises(ConnectionResetError):
            open_one.recv(4)
        with pytest.raises(ConnectionResetError):
            round_trip(proxy.port)
        open_one.close()
