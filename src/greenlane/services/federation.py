"""Federation: the peers this agency trusts, its agreements with them, and their receipts.

An administrator registers a peer agency (country, issuer, trust-list URL, and the RFC 7638
thumbprint of its anchor, exchanged out of band) and then an agreement (ports, categories,
dates). ``services/peer_sync.py`` fetches each peer's trust list and keeps the last good one;
:class:`Peers` is every worker's view of them, which the lane check reads (a peer's clearance
is decided from memory, like our own). Every change is audit-logged and NOTIFYed (``peers``).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from prometheus_client import Gauge

from greenlane.db import agencies as agencies_db
from greenlane.db import clearances as clearances_db
from greenlane.db.pagination import decode_cursor, next_cursor
from greenlane.db.pool import Database
from greenlane.domain.countries import is_country
from greenlane.domain.federation import (
    DocumentRefused,
    PeerTrust,
    StatusOf,
    peer_lists,
    peer_status,
    peer_trust,
    read_receipt,
    signing_anchor,
    stored_trust_list,
)
from greenlane.domain.status_list import VerifiedStatusList
from greenlane.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from greenlane.services import audit
from greenlane.services.live_state import notify
from greenlane.wire.common import Page
from greenlane.wire.federation import (
    Agency,
    AgencyCreate,
    Agreement,
    AgreementSet,
    LanePeer,
    LanePeers,
    PeerTrustList,
    ReceiptAccepted,
    TrustListStatus,
)

PEER_LIST_STATUS = Gauge(
    "greenlane_peer_trust_list_status",
    "1 for the state each peer's trust list is in (ok, stale, refused, pending), else 0",
    ["peer", "status"],
    multiprocess_mode="max",
)
PEER_LIST_EXPIRES_IN = Gauge(
    "greenlane_peer_trust_list_expires_in_seconds",
    "Seconds until each peer's last good trust list expires (negative: stale)",
    ["peer"],
    multiprocess_mode="min",
)
_STATUSES: tuple[TrustListStatus, ...] = ("ok", "stale", "refused", "pending")


def agreement_of(row: asyncpg.Record) -> Agreement | None:
    if row["agreement_ports"] is None:
        return None
    return Agreement(
        ports=list(row["agreement_ports"]),
        categories=list(row["agreement_categories"]),
        valid_from=row["agreement_from"].date(),
        # Stored as the first moment it no longer holds: the day before is its last day.
        valid_until=(row["agreement_until"] - timedelta(days=1)).date(),
    )


def list_status(row: asyncpg.Record, now: datetime) -> TrustListStatus:
    return _status(row["token"] is not None, row["expires_at"], row["refused"], now)


def _status(
    has_list: bool, expires_at: datetime | None, refused: str | None, now: datetime
) -> TrustListStatus:
    """``stale`` once the last good list has expired, else ``refused`` if the last fetch was."""
    if not has_list or expires_at is None:
        return "refused" if refused is not None else "pending"
    if expires_at <= now:
        return "stale"
    return "refused" if refused is not None else "ok"


def agency_from_row(row: asyncpg.Record, now: datetime) -> Agency:
    listed = stored_trust_list(row["token"]) if row["token"] is not None else None
    return Agency(
        id=row["id"],
        country=row["country"],
        issuer=row["issuer"],
        trust_list_url=row["trust_list_url"],
        anchor_thumbprint=row["anchor_thumbprint"],
        trust_list=PeerTrustList(
            status=list_status(row, now),
            attempted_at=row["attempted_at"],
            fetched_at=row["fetched_at"],
            expires_at=row["expires_at"],
            refused=row["refused"],
            keys=len(listed.keys) if listed is not None else None,
            signed_by=signing_anchor(row["token"]) if row["token"] is not None else None,
        ),
        agreement=agreement_of(row),
        created_at=row["created_at"],
        created_by=row["created_by"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


def _check_agency(data: AgencyCreate, own_issuer: str) -> None:
    if not is_country(data.country):
        raise ValidationFailed.one("country", "is not an ISO 3166-1 alpha-3 country code")
    if data.issuer.rstrip("/") == own_issuer:
        raise ValidationFailed.one("issuer", "is this agency's own issuer")


async def create_agency(db: Database, data: AgencyCreate, *, own_issuer: str, actor: str) -> Agency:
    _check_agency(data, own_issuer)
    agency_id = uuid.uuid4()
    async with db.transaction() as conn:
        added = await agencies_db.insert(
            conn,
            agency_id=agency_id,
            country=data.country,
            issuer=data.issuer.rstrip("/"),
            trust_list_url=data.trust_list_url,
            anchor_thumbprint=data.anchor_thumbprint,
            actor=actor,
        )
        if not added:
            raise Conflict("an agency with this issuer is already registered")
        await audit.record(
            conn,
            actor,
            "agency.create",
            str(agency_id),
            {"country": data.country, "issuer": data.issuer, "anchor": data.anchor_thumbprint},
        )
        await notify(conn, "peers", str(agency_id))
        row = await agencies_db.get(conn, agency_id)
    assert row is not None
    return agency_from_row(row, datetime.now(UTC))


async def get_agency(db: Database, agency_id: uuid.UUID) -> Agency:
    async with db.connection() as conn:
        row = await agencies_db.get(conn, agency_id)
    if row is None:
        raise NotFound("no such agency")
    return agency_from_row(row, datetime.now(UTC))


async def list_agencies(db: Database, *, cursor: str | None, limit: int) -> Page[Agency]:
    async with db.connection() as conn:
        rows = await agencies_db.page(conn, after=decode_cursor(cursor), limit=limit)
    now = datetime.now(UTC)
    return Page([agency_from_row(row, now) for row in rows], next_cursor(rows, limit))


async def update_agency(
    db: Database, agency_id: uuid.UUID, data: AgencyCreate, *, own_issuer: str, actor: str
) -> Agency:
    _check_agency(data, own_issuer)
    async with db.transaction() as conn:
        updated = await agencies_db.update(
            conn,
            agency_id,
            country=data.country,
            issuer=data.issuer.rstrip("/"),
            trust_list_url=data.trust_list_url,
            anchor_thumbprint=data.anchor_thumbprint,
            actor=actor,
        )
        if updated is None:
            raise NotFound("no such agency")
        if not updated:
            raise Conflict("an agency with this issuer is already registered")
        await audit.record(
            conn,
            actor,
            "agency.update",
            str(agency_id),
            {"country": data.country, "issuer": data.issuer, "anchor": data.anchor_thumbprint},
        )
        await notify(conn, "peers", str(agency_id))
        row = await agencies_db.get(conn, agency_id)
    assert row is not None
    return agency_from_row(row, datetime.now(UTC))


async def delete_agency(db: Database, agency_id: uuid.UUID, *, actor: str) -> None:
    async with db.transaction() as conn:
        issuer = await agencies_db.delete(conn, agency_id)
        if issuer is None:
            raise NotFound("no such agency")
        await audit.record(conn, actor, "agency.delete", str(agency_id), {"issuer": issuer})
        await notify(conn, "peers", str(agency_id))


async def set_agreement(
    db: Database, agency_id: uuid.UUID, data: AgreementSet, *, actor: str
) -> Agency:
    if data.valid_until < data.valid_from:
        raise ValidationFailed.one("valid_until", "must not be before valid_from")
    ports = sorted(set(data.ports))
    categories = sorted(set(data.categories))
    async with db.transaction() as conn:
        if not await agencies_db.set_agreement(
            conn,
            agency_id,
            ports=ports,
            categories=categories,
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            actor=actor,
        ):
            raise NotFound("no such agency")
        await audit.record(
            conn,
            actor,
            "agency.agreement",
            str(agency_id),
            {
                "ports": ports,
                "categories": categories,
                "valid_from": data.valid_from.isoformat(),
                "valid_until": data.valid_until.isoformat(),
            },
        )
        await notify(conn, "peers", str(agency_id))
        row = await agencies_db.get(conn, agency_id)
    assert row is not None
    return agency_from_row(row, datetime.now(UTC))


def trusted_anchors(row: asyncpg.Record) -> frozenset[str]:
    """The pinned anchor, and the anchors the peer's last good list vouched for (its next one:
    how an anchor rotation reaches us without a new pin)."""
    anchors = {str(row["anchor_thumbprint"])}
    if row["token"] is not None:
        anchors.update(stored_trust_list(row["token"]).anchors)
    return frozenset(anchors)


async def take_receipt(db: Database, receipt_token: str, *, own_issuer: str) -> ReceiptAccepted:
    """A peer's signed receipt of a crossing of one of our clearances: verified with that
    peer's trusted anchors, and listed with the clearance's crossings."""
    async with db.transaction() as conn:
        rows = await agencies_db.everything(conn)
        trusted = {str(row["issuer"]): trusted_anchors(row) for row in rows}
        try:
            receipt = read_receipt(receipt_token, audience=own_issuer, trusted=trusted)
        except DocumentRefused as refused:
            raise Unauthorized(f"The receipt is refused: {refused.message}.") from None
        agency = next(row for row in rows if row["issuer"] == receipt.iss)
        try:
            crossing_id, clearance_id = uuid.UUID(receipt.jti), uuid.UUID(receipt.sub)
        except ValueError:
            raise ValidationFailed.one("receipt", "jti and sub must be UUIDs") from None
        if await clearances_db.get(conn, clearance_id, None) is None:
            raise NotFound("no such clearance")
        added = await agencies_db.insert_foreign_crossing(
            conn,
            crossing_id=crossing_id,
            clearance_id=clearance_id,
            agency_id=agency["id"],
            country=agency["country"],
            direction=receipt.dir,
            port_code=receipt.port,
            lane_code=receipt.lane,
            decision=receipt.decision,
            mode=receipt.mode,
            crossed_at=datetime.fromtimestamp(receipt.at, UTC),
        )
        if added:
            await audit.record(
                conn,
                f"agency:{agency['id']}",
                "crossing.receipt",
                str(clearance_id),
                {"crossing_id": str(crossing_id), "port": receipt.port},
            )
    return ReceiptAccepted(id=crossing_id, clearance_id=clearance_id, replayed=not added)


async def lane_peers(db: Database) -> LanePeers:
    """Every peer with an agreement and a trust list, as an offline lane carries them."""
    async with db.connection() as conn:
        rows = await agencies_db.everything(conn)
        held = await agencies_db.status_lists(conn)
    items = []
    for row in rows:
        agreement = agreement_of(row)
        if agreement is None or row["token"] is None:
            continue
        items.append(
            LanePeer(
                issuer=row["issuer"],
                country=row["country"],
                trust_list=row["token"],
                anchors=sorted(trusted_anchors(row)),
                agreement=agreement,
                status_lists=[s["token"] for s in held if s["agency_id"] == row["id"]],
            )
        )
    return LanePeers(items)


@dataclass(frozen=True, slots=True)
class PeerState:
    """One peer as ``/health/ready`` and the metrics report it."""

    country: str
    issuer: str
    has_list: bool
    expires_at: datetime | None
    refused: str | None

    def status(self, now: datetime) -> TrustListStatus:
        return _status(self.has_list, self.expires_at, self.refused, now)


class Peers:
    """This worker's view of the peers: what the lane check reads, and their health."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.trust: dict[str, PeerTrust] = {}
        self.states: tuple[PeerState, ...] = ()

    async def reload_all(self) -> None:
        async with self._db.connection() as conn:
            rows = await agencies_db.everything(conn)
            held = await agencies_db.status_lists(conn)
        now = datetime.now(UTC)
        moment = int(now.timestamp())
        tokens: dict[uuid.UUID, dict[str, str]] = {}
        for stored in held:
            tokens.setdefault(stored["agency_id"], {})[stored["uri"]] = stored["token"]
        trust: dict[str, PeerTrust] = {}
        for row in rows:
            agreement = agreement_of(row)
            if agreement is None or row["token"] is None:
                continue
            listed = stored_trust_list(row["token"])
            trust[row["issuer"]] = peer_trust(
                listed,
                country=row["country"],
                ports=agreement.ports,
                categories=agreement.categories,
                valid_from=agreement.valid_from,
                valid_until=agreement.valid_until,
                now=moment,
                status_of=_status_of(
                    frozenset(listed.status_lists),
                    peer_lists(listed, tokens.get(row["id"], {}), moment),
                ),
            )
        self.trust = trust
        self.states = tuple(
            PeerState(
                country=row["country"],
                issuer=row["issuer"],
                has_list=row["token"] is not None,
                expires_at=row["expires_at"],
                refused=row["refused"],
            )
            for row in rows
        )

    async def on_change(self, _key: str) -> None:
        await self.reload_all()


def _status_of(declared: frozenset[str], lists: dict[str, VerifiedStatusList]) -> StatusOf:
    """A peer's statuses as the lane check asks them, at the moment it asks."""
    return lambda reference: peer_status(declared, lists, reference, int(time.time()))


def observe_peers(states: tuple[PeerState, ...]) -> None:
    """Set the peers' gauges, as ``/metrics`` is read."""
    now = datetime.now(UTC)
    for peer in states:
        status = peer.status(now)
        for each in _STATUSES:
            PEER_LIST_STATUS.labels(peer.country, each).set(1 if each == status else 0)
        if peer.expires_at is not None:
            PEER_LIST_EXPIRES_IN.labels(peer.country).set((peer.expires_at - now).total_seconds())
