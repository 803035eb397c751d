"""Webhook delivery across real server processes: a worker killed in the middle of an attempt,
and two processes sharing the outbox (each delivery attempted by exactly one of them)."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from bench.harness import free_port, serve_command, serving

from greenlane.settings import PREFIX, Settings

from ..api import bodies
from ..api.actors import make_admin_credentials
from ..api.receiver import Answer, Receiver, receiving
from ..waiting import eventually

WEBHOOKS = {
    "WEBHOOK_ALLOW_HTTP": "true",
    "WEBHOOK_ALLOW_PRIVATE": "true",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_RETRY_SCHEDULE": "1s,1s,1s,1s,1s",
}


def _env(environment: dict[str, str], data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    env.update(environment)
    env.update({PREFIX + k: v for k, v in WEBHOOKS.items()})
    env[PREFIX + "DATA_DIR"] = str(data_dir)
    return env


@contextmanager
def server(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """``greenlane serve`` in a process group of its own: its URL and its process id."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(
        serve_command(workers=1, port=port), env=env, ready_url=f"{base}/health/ready"
    ) as process:
        yield base, process.pid


def _token(base: str, client_id: str, secret: str) -> dict[str, str]:
    answer = httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _partner_with_webhook(
    base: str, settings: Settings, receiver: Receiver, events: list[str]
) -> tuple[dict[str, str], dict[str, Any]]:
    admin = _token(base, *make_admin_credentials(settings))
    partner = httpx.post(
        f"{base}/v1/admin/partners",
        headers=admin,
        json={"name": "Carrier", "country": "THA", "contact_email": "ops@carrier.example"},
    ).json()
    httpx.post(
        f"{base}/v1/admin/ports",
        headers=admin,
        json={"code": "THBKK", "name": "Bangkok", "country": "THA", "kinds": ["passenger"]},
    )
    created = httpx.post(
        f"{base}/v1/admin/clients",
        headers=admin,
        json={"role": "partner", "name": "app", "partner_id": partner["id"]},
    ).json()
    headers = _token(base, created["client_id"], created["client_secret"])
    webhook = httpx.post(
        f"{base}/v1/webhooks", headers=headers, json={"url": receiver.url, "events": events}
    )
    assert webhook.status_code == 201, webhook.text
    return headers, webhook.json()


def _deliveries(base: str, headers: dict[str, str], webhook: dict[str, Any]) -> list[Any]:
    items: list[Any] = httpx.get(
        f"{base}/v1/webhooks/{webhook['id']}/deliveries?limit=200", headers=headers
    ).json()["items"]
    return items


def test_a_delivery_cut_off_by_a_kill_is_made_after_the_restart(
    settings: Settings, environment: dict[str, str], clean_database: str, tmp_path: Path
) -> None:
    env = _env(environment, tmp_path / "spool")
    with receiving() as receiver:
        receiver.answer = Answer(hang=1.5)  # the attempt is in flight when the server dies
        with server(env) as (base, pid):
            headers, webhook = _partner_with_webhook(
                base, settings, receiver, ["application.approved"]
            )
            traveller = httpx.post(
                f"{base}/v1/travellers", headers=headers, json=bodies.traveller()
            )
            filed = httpx.post(
                f"{base}/v1/applications",
                headers=headers,
                json=bodies.application(traveller.json()["id"]),
            ).json()
            assert filed["status"] == "approved"
            eventually(lambda: receiver.count() == 1, what="the attempt in flight", timeout=10)
            os.killpg(pid, signal.SIGKILL)
        receiver.answer = Answer(204)
        with server(env) as (base, _pid):
            # The killed attempt's lease (timeout + 10 s) must end before anyone tries again.
            [delivery] = eventually(
                lambda: (
                    (found := _deliveries(base, headers, webhook))
                    and found[0]["status"] == "delivered"
                    and found
                ),
                what="the delivery after the restart",
                timeout=40,
            )
    assert [a["outcome"] for a in delivery["attempts"]] == ["interrupted", "delivered"]
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery["event_id"]
    assert first.body == second.body


def test_two_processes_attempt_each_delivery_once(
    settings: Settings, environment: dict[str, str], clean_database: str, tmp_path: Path
) -> None:
    pings = 40
    with receiving() as receiver:
        receiver.answer = Answer(204, hang=0.05)
        with (
            server(_env(environment, tmp_path / "a")) as (a, _),
            server(_env(environment, tmp_path / "b")) as (b, _),
        ):
            headers, webhook = _partner_with_webhook(a, settings, receiver, ["clearance.revoked"])
            for n in range(pings):  # the outbox is written through both
                host = a if n % 2 else b
                sent = httpx.post(f"{host}/v1/webhooks/{webhook['id']}/test", headers=headers)
                assert sent.status_code == 202, sent.text
            eventually(
                lambda: all(d["status"] == "delivered" for d in _deliveries(a, headers, webhook)),
                what="every ping delivered",
                timeout=30,
            )
            counted = {host: _delivered_count(httpx.get(f"{host}/metrics").text) for host in (a, b)}
            delivered = _deliveries(a, headers, webhook)
    assert len(delivered) == pings
    assert all(len(d["attempts"]) == 1 for d in delivered)
    ids = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert len(ids) == pings
    assert set(ids.values()) == {1}
    assert all(counted.values()), counted  # both processes delivered some
    assert sum(counted.values()) == pings


def _delivered_count(metrics: str) -> int:
    for line in metrics.splitlines():
        if line.startswith('greenlane_webhook_deliveries_total{outcome="delivered"}'):
            return int(float(line.split()[-1]))
    return 0
