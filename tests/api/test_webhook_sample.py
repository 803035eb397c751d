"""The receiver in docs/webhooks.md, run as written against a live server's deliveries."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from greenlane.app import create_app
from greenlane.client.webhooks import WebhookReceiver
from greenlane.settings import Settings
from greenlane.wire.webhooks import WebhookEvent

from ..waiting import eventually
from . import bodies
from .actors import Actor
from .test_applications import file, register
from .test_webhook_delivery import FAST

PAGE = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(replace(settings, **FAST))


def sample() -> str:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)
    [receiver] = [str(b) for b in blocks if "def make_server" in b]
    return receiver


@pytest.fixture
def page_receiver() -> tuple[dict[str, Any], list[WebhookEvent]]:
    namespace: dict[str, Any] = {"__name__": "webhook_sample"}
    exec(compile(sample(), str(PAGE), "exec"), namespace)  # noqa: S102 (our own docs)
    handled: list[WebhookEvent] = []
    namespace["on_event"] = handled.append  # what the sample prints, kept for the test
    return namespace, handled


def test_the_documented_receiver_handles_real_deliveries(
    partner: Actor, page_receiver: tuple[dict[str, Any], list[WebhookEvent]]
) -> None:
    namespace, handled = page_receiver
    created = partner.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:1/", "events": ["application.approved"]},
    ).json()
    server = namespace["make_server"](WebhookReceiver(created["secret"]), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/greenlane"
        assert partner.patch(f"/v1/webhooks/{created['id']}", json={"url": url}).status_code == 200
        filed = file(partner, bodies.application(register(partner, bodies.traveller())))
        partner.post(f"/v1/webhooks/{created['id']}/test")
        eventually(lambda: len(handled) == 2, what="both events handled", timeout=10)
        [delivery] = [
            d
            for d in partner.get(f"/v1/webhooks/{created['id']}/deliveries").json()["items"]
            if d["event_type"] == "application.approved"
        ]
        replay = f"/v1/webhooks/{created['id']}/deliveries/{delivery['id']}/replay"
        assert partner.post(replay).status_code == 202
        eventually(
            lambda: all(
                d["status"] == "delivered"
                for d in partner.get(f"/v1/webhooks/{created['id']}/deliveries").json()["items"]
            ),
            what="the replay answered",
            timeout=10,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(e.type for e in handled) == ["application.approved", "webhook.test"]
    approved = next(e for e in handled if e.type == "application.approved")
    assert str(approved.data.application_id) == filed["id"]  # type: ignore[union-attr]
    assert len(handled) == 2  # the replay repeated a webhook-id the sample had handled
