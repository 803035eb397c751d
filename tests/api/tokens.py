"""Tokens put together in tests: base64url parts, and clearances forged with the service's key."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import jwt

from greenlane.domain.clearance_token import LANE_AUDIENCE, ClearanceClaims, issue_token
from greenlane.domain.status_list import StatusListReference, list_uri
from greenlane.settings import Settings

from ..database import connect
from .actors import Actor
from .lane_setup import PORT


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def part(value: dict[str, Any]) -> str:
    return b64(json.dumps(value).encode())


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
