"""Tokens put together and taken apart in tests: base64url parts, claims, tokens signed with the
service's key, and the published status lists as a lane reads them."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import jwt
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.domain.clearance_token import (
    LANE_AUDIENCE,
    ClearanceClaims,
    issue_token,
    public_keys,
)
from greenlane.domain.status_list import (
    StatusListReference,
    VerifiedStatusList,
    list_uri,
    verify_status_list,
)
from greenlane.settings import Settings

from ..database import connect
from .actors import Actor
from .lane_setup import PORT


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def part(value: dict[str, Any]) -> str:
    return b64(json.dumps(value).encode())


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return decoded


def sign(actor: Actor, claims: dict[str, Any], typ: str = "gl-clearance+jwt") -> str:
    """A token of type ``typ`` with exactly ``claims``, signed by the service's own key."""
    signer = actor.http.app.state.runtime.keyring.signer
    return jwt.encode(
        claims, signer.private_key, algorithm="ES256", headers={"kid": signer.kid, "typ": typ}
    )


def status_list(
    http: TestClient[Litestar], settings: Settings, number: int = 1
) -> VerifiedStatusList:
    """The list as a lane reads it: fetched without credentials, verified with the JWKS."""
    response = http.get(f"/v1/status-lists/{number}")
    assert response.status_code == 200, response.text
    keys = public_keys(http.get("/.well-known/jwks.json").json()["keys"])
    verified = verify_status_list(
        response.text,
        keys=keys,
        uri=list_uri(settings.issuer, number),
        now=int(time.time()),
        leeway=30,
    )
    assert isinstance(verified, VerifiedStatusList), verified
    return verified


def published_status(http: TestClient[Litestar], settings: Settings, token: str) -> int:
    """The status the served list gives the token's ``status.status_list`` entry."""
    reference = claims_of(token)["status"]["status_list"]
    number = int(reference["uri"].rsplit("/", 1)[1])
    return status_list(http, settings, number).statuses.get(reference["idx"])


def unreadable_statuses(settings: Settings) -> dict[str, Any]:
    """``status`` claims a lane can make no statement from, each of which makes a token
    ``token_malformed``, by what is wrong with them."""
    here = list_uri(settings.issuer, 1)
    return {
        "index outside the list": {"status_list": {"idx": settings.status_list_size, "uri": here}},
        "another issuer's list": {
            "status_list": {"idx": 0, "uri": "https://elsewhere.example/v1/status-lists/1"}
        },
        "a list never published": {"status_list": {"idx": 0, "uri": list_uri(settings.issuer, 7)}},
        "no status list": {"other_mechanism": {}},
        "status list not an object": {"status_list": [0, here]},
        "index not a number": {"status_list": {"idx": "0", "uri": here}},
        "negative index": {"status_list": {"idx": -1, "uri": here}},
        "no uri": {"status_list": {"idx": 0}},
    }


def forge(lane: Actor, settings: Settings, **changes: Any) -> str:
    """A token signed by the service's own active key, with chosen claims or header."""
    signer = lane.http.app.state.runtime.keyring.signer
    now = int(time.time())
    claims = ClearanceClaims(
        issuer=settings.issuer,
        clearance_id=str(uuid.uuid4()),
        audience=LANE_AUDIENCE,
        issued_at=now,
        not_before=changes.pop("not_before", now - 60),
        expires_at=changes.pop("expires_at", now + 3600),
        token_id="abcdefghijkl",
        ports=(PORT,),
        entries="multiple",
        category="business_visitor",
        nationality="THA",
        document_binding="AAAAAAAAAAAA",
        status=StatusListReference(idx=0, uri=list_uri(settings.issuer, 1)),
    )
    token = issue_token(claims, signer.private_key, signer.kid)
    if changes:
        header = {**jwt.get_unverified_header(token), **changes}
        _, body, signature = token.split(".")
        token = f"{part(header)}.{body}.{signature}"
    return token


def expire_retiring_key(database_url: str, kid: str) -> None:
    """As if the last token ``kid`` signed had expired: the next rotation retires it."""

    async def expire() -> None:
        conn = await connect(database_url)
        try:
            await conn.execute(
                "UPDATE signing_keys SET retire_after = now() - interval '1 second' WHERE kid = $1",
                kid,
            )
        finally:
            await conn.close()

    asyncio.run(expire())
