"""A peer agency played by the test: its trust list is whatever the test makes it serve.

A real greenlane never serves a bad list, so the faults a peer's list can have (another anchor,
expired, another type, oversized, a redirect to another host, down) come from here, signed with
keys made in the test, and are fetched by a real deployment over real HTTP. So do status lists
that expire within seconds (a real one lives 25 hours).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec

from greenlane.domain.clearance_token import (
    LANE_AUDIENCE,
    ClearanceClaims,
    document_binding,
    issue_token,
    new_token_id,
)
from greenlane.domain.documents import canonical_plate
from greenlane.domain.federation import (
    TRUST_LIST_TYPE,
    ListedKey,
    TrustList,
    anchor_thumbprint,
    sign,
)
from greenlane.domain.signing_keys import new_signing_key, public_jwk, thumbprint_kid
from greenlane.domain.status_list import (
    StatusList,
    StatusListReference,
    list_uri,
    sign_status_list,
)
from greenlane.domain.trip_token import (
    Role,
    TripClaims,
    TripMember,
    issue_trip_token,
    member_binding,
    trip_vehicle_binding,
)
from greenlane.federation_demo import Deployment, Issued, agree, peer_status, trust, wait_for

from .serving import serving

Answer = tuple[int, dict[str, str], bytes]
STATUS_LIST_SIZE = 1024
CAR_CREW: tuple[Role, ...] = ("driver", "passenger")


@dataclass
class FakePeer:
    """An agency at ``http://<host>:<port>`` with an anchor and one clearance key."""

    host: str
    port: int
    country: str = "VNM"
    anchor: ec.EllipticCurvePrivateKey = field(default_factory=new_signing_key)
    key: ec.EllipticCurvePrivateKey = field(default_factory=new_signing_key)
    answer: Answer = (503, {}, b"")  # for its trust list
    status_list_lifetime: int = 3600  # seconds from each signing of its status list to its exp
    status_list_down: bool = False  # its status list is served (signed afresh) unless this

    @property
    def issuer(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def trust_list_url(self) -> str:
        return self.issuer + "/.well-known/greenlane/trust-list"

    @property
    def status_list_uri(self) -> str:
        return list_uri(self.issuer, 1)

    def status_list(self) -> str:
        now = int(datetime.now(UTC).timestamp())
        return sign_status_list(
            StatusList(STATUS_LIST_SIZE, 2),
            uri=self.status_list_uri,
            issued_at=now,
            expires_at=now + self.status_list_lifetime,
            ttl=60,
            private_key=self.key,
            kid=thumbprint_kid(self.key.public_key()),
        )

    def trust_list(
        self,
        *,
        lifetime: int = 3600,
        anchor: ec.EllipticCurvePrivateKey | None = None,
        media_type: str = TRUST_LIST_TYPE,
    ) -> str:
        now = int(datetime.now(UTC).timestamp())
        listed = TrustList(
            iss=self.issuer,
            country=self.country,
            iat=now,
            exp=now + lifetime,
            anchors=[],
            status_lists=[self.status_list_uri],
            keys=[
                msgspec.convert({**public_jwk(self.key.public_key()), "state": "active"}, ListedKey)
            ],
        )
        return sign(listed, anchor or self.anchor, media_type)

    def serve_list(self, token: str) -> None:
        self.answer = (200, {"Content-Type": "application/jwt"}, token.encode())

    def clearance(
        self, port: str, *, category: str = "business_visitor"
    ) -> tuple[str, dict[str, str]]:
        """A token of this peer for ``port``, and the document to present with it."""
        issued = self.issue(port, category=category)
        return issued.token, issued.document

    def issue(self, port: str, *, category: str = "business_visitor") -> Issued:
        """A clearance of this peer for ``port``, as ``federation_demo.issue`` gives A's."""
        jti = new_token_id()
        clearance_id = str(uuid.uuid4())
        number = f"VN{uuid.uuid4().int % 10**7:07d}"
        today = datetime.combine(date.today(), datetime.min.time(), UTC)
        claims = ClearanceClaims(
            issuer=self.issuer,
            clearance_id=clearance_id,
            audience=LANE_AUDIENCE,
            issued_at=int(today.timestamp()),
            not_before=int(today.timestamp()),
            expires_at=int((today + timedelta(days=10)).timestamp()),
            token_id=jti,
            ports=(port,),
            entries="multiple",
            category=category,
            nationality=self.country,
            document_binding=document_binding(jti, self.country, number),
            status=self._entry(),
        )
        token = issue_token(claims, self.key, thumbprint_kid(self.key.public_key()))
        document = {"number": number, "issuing_state": self.country}
        # The traveller is the peer's own, whom no deployment here knows.
        return Issued(clearance_id, token, document, traveller_id=str(uuid.uuid4()))

    def trip(self, port: str) -> tuple[str, str, list[dict[str, str]]]:
        """A trip token of this peer for ``port``: a car with a driver and a passenger, valid
        for the next hour; with its plate and the documents to present."""
        jti = new_token_id()
        now = int(datetime.now(UTC).timestamp())
        plate = f"51A-{uuid.uuid4().int % 10**5:05d}"
        documents = [
            {"number": f"VN{uuid.uuid4().int % 10**7:07d}", "issuing_state": self.country}
            for _ in range(2)
        ]
        members = tuple(
            TripMember(
                role=role,
                entries="multiple",
                category="business_visitor",
                clearance_id=str(uuid.uuid4()),
                document_binding=member_binding(jti, self.country, document["number"]),
                status=self._entry(),
            )
            for role, document in zip(CAR_CREW, documents, strict=True)
        )
        claims = TripClaims(
            issuer=self.issuer,
            trip_id=str(uuid.uuid4()),
            audience=LANE_AUDIENCE,
            issued_at=now,
            not_before=now - 60,
            expires_at=now + 3600,
            token_id=jti,
            port=port,
            direction="entry",
            vehicle_binding=trip_vehicle_binding(jti, self.country, canonical_plate(plate)),
            vehicle_country=self.country,
            members=members,
            status=self._entry(),
        )
        token = issue_trip_token(claims, self.key, thumbprint_kid(self.key.public_key()))
        return token, plate, documents

    def _entry(self) -> StatusListReference:
        """A place in the peer's one status list, which says every token there is valid."""
        return StatusListReference(
            idx=secrets.randbelow(STATUS_LIST_SIZE), uri=self.status_list_uri
        )


def trusted_by(at: Deployment, peer: FakePeer, port: str) -> str:
    """``at`` registers ``peer`` and agrees to its business visitors at ``port``; the agency's
    id, once ``at`` holds the peer's list."""
    agency_id = trust(at, peer, anchor_thumbprint(peer.anchor.public_key()))
    agree(at, agency_id, [port], ["business_visitor"])
    peer.serve_list(peer.trust_list())
    wait_for(f"{at.name} to take the peer's list", lambda: peer_status(at, peer.country) == "ok")
    return agency_id


@contextmanager
def fake_peer(host: str = "127.0.0.1") -> Iterator[FakePeer]:
    peer = FakePeer(host, 0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = peer.answer
            if peer.issuer + self.path == peer.status_list_uri:
                if peer.status_list_down:
                    status, headers, body = 503, {}, b""
                else:
                    status, headers = 200, {"Content-Type": "application/statuslist+jwt"}
                    body = peer.status_list().encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test output is for the test."""

    with serving(Handler) as port:
        peer.port = port
        yield peer
