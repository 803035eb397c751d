"""One verification taken apart: each part timed alone in this process, in microseconds
(medians), beside a sequential sign-in. The wrk runs say what the whole costs; these say where
it goes: parsing the body, the signature (bare ``cryptography``, and PyJWT for comparison), all
of ``lane_checks.check``, and one group commit of a single item.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import jwt
import msgspec
from bench.harness import PORT_CODE, Seeded, sign_in_form

from greenlane.db import verifications as verifications_db
from greenlane.domain.clearance_token import LANE_AUDIENCE, VerifiedToken, verify_token
from greenlane.domain.lane_checks import Presented, check
from greenlane.domain.status_list import (
    StatusList,
    StatusListReference,
    VerifiedStatusList,
    list_number,
    verify_status_list,
)
from greenlane.domain.verification import VerificationRecord
from greenlane.wire.verify import VerifyRequest


def sign_in_ms(seeded: Seeded, repeat: int = 200) -> float:
    """Median time of one client-credentials sign-in, sequential, over loopback."""
    form = sign_in_form(seeded.lane_id, seeded.lane_secret)
    samples = []
    with httpx.Client(base_url=seeded.base_url) as client:
        for _ in range(repeat):
            started = time.perf_counter()
            client.post("/oauth/token", data=form).raise_for_status()
            samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def median_us(run: Callable[[], object], repeat: int = 2000) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter_ns()
        run()
        samples.append(time.perf_counter_ns() - started)
    return statistics.median(samples) / 1000


async def database_us(url: str, record: VerificationRecord, repeat: int = 300) -> float:
    conn = await asyncpg.connect(url)
    samples = []
    try:
        for _ in range(repeat):
            one = msgspec.structs.replace(record, event_id=uuid.uuid4(), crossing_id=uuid.uuid4())
            started = time.perf_counter_ns()
            await verifications_db.record(conn, [one])
            samples.append(time.perf_counter_ns() - started)
    finally:
        await conn.close()
    return statistics.median(samples) / 1000


def _status_list(
    base_url: str, issuer: str, uri: str, keys: dict[str, Any], now: int
) -> StatusList:
    """The sample token's status list, fetched from the server and verified as a lane would."""
    number = list_number(issuer, uri)
    assert number is not None
    token = httpx.get(f"{base_url}/v1/status-lists/{number}").text
    listed = verify_status_list(token, keys=keys, uri=uri, now=now, leeway=30)
    assert isinstance(listed, VerifiedStatusList)
    return listed.statuses


def cost_split(seeded: Seeded, url: str, issuer: str) -> dict[str, float]:
    keys = {k["kid"]: jwt.PyJWK.from_dict(k).key for k in httpx.get(
        f"{seeded.base_url}/.well-known/jwks.json").json()["keys"]}  # fmt: skip
    sample = next(p for p in seeded.passes if not p.single)
    body = msgspec.json.encode(
        {
            "token": sample.token,
            "direction": "entry",
            "event_id": str(uuid.uuid4()),
            "document": {"number": sample.number, "issuing_state": "THA"},
        }
    )
    now = int(time.time())
    today = datetime.now(UTC).date()
    presented = Presented(document_number=sample.number, issuing_state="THA")
    kid = jwt.get_unverified_header(sample.token)["kid"]

    def bare() -> object:
        return verify_token(sample.token, keys=keys, issuer=issuer, audience=LANE_AUDIENCE, now=now)

    def pyjwt() -> object:
        return jwt.decode(
            sample.token,
            keys[kid],
            algorithms=["ES256"],
            audience=LANE_AUDIENCE,
            issuer=issuer,
            leeway=30,
            options={"require": ["iss", "sub", "aud", "iat", "nbf", "exp", "jti"]},
        )

    verified = bare()
    assert isinstance(verified, VerifiedToken)
    statuses = _status_list(seeded.base_url, issuer, verified.claims.status.uri, keys, now)

    def status_of(reference: StatusListReference) -> int | str:
        return statuses.get(reference.idx)  # as the server reads it: a look-up and a shift

    def checks() -> object:
        return check(
            sample.token, lane_port=PORT_CODE, presented=presented, keys=keys, issuer=issuer,
            audience=LANE_AUDIENCE, revoked=frozenset(), status_of=status_of, now=now,
            today=today,
        )  # fmt: skip

    clearance_id = verified.claims.clearance_id
    record = VerificationRecord(
        lane_client=uuid.uuid4(), event_id=uuid.uuid4(), request_sha="00", port_code=PORT_CODE,
        lane_code="L1", direction="entry", decision="green", codes=(), single_entry=False,
        mode="online", latency_us=0, occurred_at=datetime.now(UTC), checked_at=datetime.now(UTC),
        clearance_id=uuid.UUID(clearance_id),
    )  # fmt: skip
    return {
        "parse": median_us(lambda: msgspec.json.decode(body, type=VerifyRequest)),
        "signature (bare cryptography)": median_us(bare),
        "signature (PyJWT)": median_us(pyjwt),
        "lane_checks.check (with the signature)": median_us(checks),
        "database (one item, one commit)": asyncio.run(database_us(url, record)),
    }
