"""A worker applies its own writes before it answers: its next request sees them whether or not
its LISTEN connection has heard the NOTIFY yet (here it never will: the listener is stopped)."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt

from .actors import Admin
from .lane_setup import ask, codes, issue, lanes_and_partner, question


def test_a_worker_applies_its_own_writes_before_it_answers(admin: Admin) -> None:
    lane, partner = lanes_and_partner(admin)
    revoked, watched, plain = issue(partner), issue(partner), issue(partner)
    runtime = admin.http.app.state.runtime
    admin.http.blocking_portal.call(runtime.live.stop)  # deaf to NOTIFY from here on

    partner.post(f"/v1/clearances/{revoked.clearance_id}/revoke", json={"reason": "lost"})
    assert codes(ask(lane, question(revoked))) == ["token_revoked"]

    entry = {"kind": "document", "reason": "reported stolen", **watched.document()}
    assert admin.post("/v1/admin/watchlist", json=entry).status_code == 201
    assert codes(ask(lane, question(watched))) == ["watchlist_hit"]

    rule = {
        "name": "Always met",
        "condition": "true",  # a condition every application meets: nothing is referred
        "effect": "refer",
        "reason_code": "never_fails",
        "message": "A rule that holds for everyone.",
    }
    created = admin.post("/v1/admin/rules", json=rule).json()
    assert created["id"] in {r.id for r in runtime.rules.active(datetime.now(UTC))}

    rotated = admin.post("/v1/admin/keys/rotate").json()
    assert jwt.get_unverified_header(issue(partner).token)["kid"] == rotated["active"]

    admin.delete(f"/v1/admin/clients/{lane.client_id}")
    assert lane.post("/v1/verify", json=question(plain)).status_code == 401
