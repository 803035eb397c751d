"""Trips: filed by a partner, decided by the trip rules, and on approval given one signed token
for the vehicle and everyone in it, in the same transaction. Amending decides again and
re-issues the token; cancelling revokes it.

Each member must be the partner's own traveller holding a clearance that carries them across
the trip's port at its expected arrival; the driver's must be the clearance issued for this
vehicle. The trip token names those clearances and their status list entries, so revoking or
suspending one stops that member at the lane, offline too.

A trip token has a status list entry of its own, taken as a clearance's is
(``status_lists.allocate``, after the audit entry: the lock order of ``db/locks.py``). Revoking
it sets that entry to revoked in the same transaction, and announces its ``jti`` to the
revocation feed as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import msgspec

from greenlane.db import signing_keys as keys_db
from greenlane.db import travellers as travellers_db
from greenlane.db import trips as trips_db
from greenlane.db import vehicles as vehicles_db
from greenlane.db.codecs import jsonb
from greenlane.db.pagination import decode_cursor, next_cursor
from greenlane.db.pool import Connection, Database
from greenlane.domain.clearance_token import LANE_AUDIENCE, new_token_id
from greenlane.domain.rules import (
    CrewFacts,
    Outcome,
    TripFacts,
    applicable_to_trip,
    build_trip_context,
    decide,
)
from greenlane.domain.status_list import INVALID
from greenlane.domain.trip_token import (
    TripClaims,
    TripMember,
    issue_trip_token,
    member_binding,
    trip_vehicle_binding,
)
from greenlane.domain.trips import check_filing, token_window
from greenlane.domain.webhooks import EventType
from greenlane.errors import Conflict, FieldProblem, NotFound, ServiceUnavailable, ValidationFailed
from greenlane.services import audit, status_lists, webhook_events
from greenlane.services.applications import Deciding, check_one_subject
from greenlane.services.eligibility import (
    Registration,
    traveller_facts,
    vehicle_facts,
    watchlisted,
)
from greenlane.services.idempotency import create_once
from greenlane.services.live_state import notify
from greenlane.wire import trips as wire
from greenlane.wire.applications import DryRunRequest, DryRunResult, RuleEvaluation
from greenlane.wire.clearances import Crossing
from greenlane.wire.common import Page
from greenlane.wire.reasons import Reason
from greenlane.wire.webhooks import TripData

CANCELLED = "cancelled by the partner"
AMENDED = "replaced by an amendment"


@dataclass(frozen=True, slots=True)
class _Crew:
    """A filing's rows: the vehicle, and each member with the clearance that carries them."""

    vehicle: asyncpg.Record
    travellers: tuple[asyncpg.Record, ...]
    clearances: tuple[asyncpg.Record, ...]


async def _crew(
    conn: Connection, d: Deciding, data: wire.TripCreate, partner_id: uuid.UUID | None
) -> _Crew:
    """The rows a filing names, which must be the partner's own (404 otherwise), each member
    with a clearance for the port and time (422 naming the member otherwise). An administrator's
    dry run (``partner_id`` None) reads them as the vehicle's partner would."""
    check_filing(data.crew, data.expected_at, policy=d.trips, now=datetime.now(UTC))
    if partner_id is None:
        vehicle = await vehicles_db.TABLE.get_any(conn, data.vehicle_id)
    else:
        vehicle = await vehicles_db.TABLE.get(conn, data.vehicle_id, partner_id, for_update=True)
    if vehicle is None:
        raise NotFound("no such vehicle")
    owner: uuid.UUID = vehicle["partner_id"]
    travellers = []
    for member in data.crew:
        traveller = await travellers_db.TABLE.get(
            conn, member.traveller_id, owner, for_update=partner_id is not None
        )
        if traveller is None:
            raise NotFound("no such traveller")
        travellers.append(traveller)
    kinds = await trips_db.port_kinds(conn, data.port_code)
    if kinds is None:
        raise ValidationFailed.one("port_code", "no such port")
    held = await trips_db.active_clearances(
        conn,
        partner_id=owner,
        traveller_ids=[member.traveller_id for member in data.crew],
        port_code=data.port_code,
        direction=data.direction,
        at=data.expected_at,
    )
    clearances = []
    problems = []
    for position, member in enumerate(data.crew):
        own = [row for row in held if row["traveller_id"] == member.traveller_id]
        if member.role == "driver":
            own = [row for row in own if row["vehicle_id"] == data.vehicle_id]
        if not own:
            problems.append(FieldProblem(f"crew[{position}].traveller_id", _uncovered(member)))
        else:
            clearances.append(own[0])
    if problems:
        raise ValidationFailed(problems)
    return _Crew(vehicle, tuple(travellers), tuple(clearances))


def _uncovered(member: wire.CrewMember) -> str:
    what = "an active clearance for this port and time"
    if member.role == "driver":
        what = "an active clearance for this vehicle, port and time"
    return f"the {member.role.replace('_', '-')} holds no {what}"


async def _assess(
    conn: Connection, d: Deciding, data: wire.TripCreate, crew: _Crew
) -> tuple[Outcome, bool]:
    """The trip rules in force, run as an application's are; the watchlist refers as it does."""
    now = datetime.now(UTC)
    kinds = await trips_db.port_kinds(conn, data.port_code) or ()
    vehicle = vehicle_facts(crew.vehicle)
    assert vehicle is not None
    people = []
    for member, row in zip(data.crew, crew.travellers, strict=True):
        facts = traveller_facts(row, d.cipher)
        people.append(
            CrewFacts(
                role=member.role,
                nationality=facts.nationality,
                category=facts.category,
                date_of_birth=facts.date_of_birth,
                document=facts.document,
                driving_licence=facts.driving_licence,
            )
        )
    trip = TripFacts(
        vehicle=vehicle,
        port=data.port_code,
        port_kinds=tuple(kinds),
        direction=data.direction,
        expected_at=data.expected_at,
        crew=tuple(people),
        has_cargo_reference=data.cargo_reference is not None,
    )
    context = build_trip_context(trip, today=now.date())
    # Each entry once, however many members share it (a vehicle's is every member's).
    hits = list(
        dict.fromkeys(
            entry
            for traveller in crew.travellers
            for entry in watchlisted(Registration(traveller, crew.vehicle), d.watchlist)
        )
    )
    judged = applicable_to_trip(
        d.rules.active(now), categories={p.category for p in people}, port=data.port_code
    )
    verdicts = await d.runner.run([rule.condition for rule in judged], context)
    return decide(judged, verdicts, watchlist_hits=hits), bool(hits)


def _reasons(outcome: Outcome) -> list[Reason]:
    return [Reason(r.rule_id, r.reason_code, r.message, r.effect) for r in outcome.reasons]


def _reasons_json(outcome: Outcome) -> str:
    return msgspec.json.encode(_reasons(outcome)).decode()


async def _issue(
    conn: Connection,
    d: Deciding,
    trip_id: uuid.UUID,
    data: wire.TripCreate,
    crew: _Crew,
    actor: str,
) -> None:
    signer = d.keyring.signer
    if signer is None:
        raise ServiceUnavailable(retry_after=1, detail="No signing key is loaded yet.")
    jti = new_token_id()
    not_before, expires_at = token_window(
        data.expected_at,
        d.trips,
        [(row["not_before"], row["expires_at"]) for row in crew.clearances],
    )
    # The audit entry first: its lock, then the status list's (the order of db/locks.py).
    await audit.record(conn, actor, "trip.token.issue", str(trip_id), {"kid": signer.kid})
    entry = await status_lists.allocate(conn, size=d.status_list_size, expires_at=expires_at)
    members = []
    for member, traveller, clearance in zip(
        data.crew, crew.travellers, crew.clearances, strict=True
    ):
        number = travellers_db.unseal(d.cipher, traveller, "document_number_enc")
        members.append(
            TripMember(
                role=member.role,
                entries=clearance["entries"],
                # The traveller's, as their clearance token carries it and the trip rules saw.
                category=traveller["category"],
                clearance_id=str(clearance["id"]),
                document_binding=member_binding(jti, traveller["document_issuing_state"], number),
                status=status_lists.Entry(
                    list_id=clearance["status_list"], idx=clearance["status_idx"]
                ).reference(d.issuer),
            )
        )
    vehicle = crew.vehicle
    claims = TripClaims(
        issuer=d.issuer,
        trip_id=str(trip_id),
        audience=LANE_AUDIENCE,
        issued_at=int(datetime.now(UTC).timestamp()),
        not_before=int(not_before.timestamp()),
        expires_at=int(expires_at.timestamp()),
        token_id=jti,
        port=data.port_code,
        direction=data.direction,
        vehicle_binding=trip_vehicle_binding(
            jti, vehicle["registration_country"], vehicle["plate"]
        ),
        vehicle_country=vehicle["registration_country"],
        members=tuple(members),
        status=entry.reference(d.issuer),
    )
    token = issue_trip_token(claims, signer.private_key, signer.kid)
    # As for a clearance: a worker that missed a rotation still signs with the old key.
    await keys_db.extend_retirement(conn, signer.kid, expires_at)
    await trips_db.insert_token(
        conn,
        jti=jti,
        trip_id=trip_id,
        kid=signer.kid,
        token=token,
        not_before=not_before,
        expires_at=expires_at,
        status_list=entry.list_id,
        status_idx=entry.idx,
    )


async def _members(
    conn: Connection, trip_id: uuid.UUID, data: wire.TripCreate, crew: _Crew
) -> None:
    await trips_db.insert_members(
        conn,
        trip_id,
        [
            (member.traveller_id, member.role, clearance["id"])
            for member, clearance in zip(data.crew, crew.clearances, strict=True)
        ],
    )


async def file(
    d: Deciding,
    data: wire.TripCreate,
    *,
    partner_id: uuid.UUID,
    actor: str,
    idempotency_key: str | None,
) -> tuple[wire.Trip, bool]:
    trip_id = uuid.uuid4()

    async def create(conn: Connection) -> wire.Trip:
        crew = await _crew(conn, d, data, partner_id)
        outcome, _hit = await _assess(conn, d, data, crew)
        await trips_db.insert(
            conn,
            trip_id=trip_id,
            partner_id=partner_id,
            vehicle_id=data.vehicle_id,
            port_code=data.port_code,
            direction=data.direction,
            expected_at=data.expected_at,
            cargo_reference=data.cargo_reference,
            status=outcome.status,
            reasons=_reasons_json(outcome),
            actor=actor,
        )
        await _members(conn, trip_id, data, crew)
        if outcome.status == "approved":
            await _issue(conn, d, trip_id, data, crew, actor)
        await audit.record(conn, actor, "trip.file", str(trip_id), {"status": outcome.status})
        await _announce(conn, partner_id, trip_id, data, outcome)
        return await _read(conn, trip_id, partner_id)

    async with d.db.transaction() as conn:
        return await create_once(
            conn,
            d.cipher,
            d.index,
            partner_id=partner_id,
            key=idempotency_key,
            route="trips",
            request=data,
            answer_type=wire.Trip,
            create=lambda: create(conn),
        )


async def amend(
    d: Deciding, trip_id: uuid.UUID, data: wire.TripCreate, *, partner_id: uuid.UUID, actor: str
) -> wire.Trip:
    """Replace the whole filing and decide it again: the old token is revoked whatever the new
    decision, and an approval issues a new one."""
    async with d.db.transaction() as conn:
        row = await trips_db.get(conn, trip_id, partner_id, for_update=True)
        if row is None:
            raise NotFound("no such trip")
        if row["status"] == "cancelled":
            raise Conflict("the trip is cancelled; file a new one")
        crew = await _crew(conn, d, data, partner_id)
        outcome, _hit = await _assess(conn, d, data, crew)
        await _revoke(conn, trip_id, actor=actor, reason=AMENDED)
        await trips_db.amend(
            conn,
            trip_id=trip_id,
            vehicle_id=data.vehicle_id,
            port_code=data.port_code,
            direction=data.direction,
            expected_at=data.expected_at,
            cargo_reference=data.cargo_reference,
            status=outcome.status,
            reasons=_reasons_json(outcome),
            actor=actor,
            at=datetime.now(UTC),
        )
        await _members(conn, trip_id, data, crew)
        if outcome.status == "approved":
            await _issue(conn, d, trip_id, data, crew, actor)
        details = {"from": row["status"], "to": outcome.status}
        await audit.record(conn, actor, "trip.amend", str(trip_id), details)
        await _announce(conn, partner_id, trip_id, data, outcome)
        return await _read(conn, trip_id, partner_id)


_EVENTS: Mapping[str, EventType] = {
    "approved": "trip.approved",
    "referred": "trip.referred",
    "rejected": "trip.rejected",
}


async def _announce(
    conn: Connection,
    partner_id: uuid.UUID,
    trip_id: uuid.UUID,
    data: wire.TripCreate,
    outcome: Outcome,
) -> None:
    """The decision's webhook, in the decision's transaction (the outbox of webhook_events):
    ids and the status only, as every event."""
    await webhook_events.emit(
        conn,
        partner_id,
        _EVENTS[outcome.status],
        TripData(trip_id=trip_id, status=outcome.status, vehicle_id=data.vehicle_id),
    )


async def cancel(
    db: Database, trip_id: uuid.UUID, *, partner_id: uuid.UUID, actor: str
) -> wire.Trip:
    """Cancel a trip and revoke its token; cancelling twice changes nothing."""
    async with db.transaction() as conn:
        row = await trips_db.get(conn, trip_id, partner_id, for_update=True)
        if row is None:
            raise NotFound("no such trip")
        if row["status"] != "cancelled":
            await _revoke(conn, trip_id, actor=actor, reason=CANCELLED)
            await trips_db.cancel(conn, trip_id, actor=actor, at=datetime.now(UTC))
            await audit.record(conn, actor, "trip.cancel", str(trip_id), {})
        return await _read(conn, trip_id, partner_id)


async def _revoke(conn: Connection, trip_id: uuid.UUID, *, actor: str, reason: str) -> None:
    """Revoke the trip's live token, as ``clearances.revoke_in`` revokes a clearance and in the
    lock order of ``db/locks.py`` (the trip's row, the feed's number, the audit entry, the status
    list's version): announced to every worker by its ``jti`` and revoked in its status list, in
    the caller's transaction."""
    at = datetime.now(UTC)
    for row in await trips_db.revoke_tokens(conn, trip_id, actor=actor, reason=reason, at=at):
        await audit.record(conn, actor, "trip.token.revoke", str(trip_id), {})
        await notify(conn, "revocations", row["jti"])
        if row["status_list"] is not None:
            await status_lists.set_status(conn, row["status_list"], row["status_idx"], INVALID)


async def get(db: Database, trip_id: uuid.UUID, partner_id: uuid.UUID | None) -> wire.Trip:
    async with db.connection() as conn:
        return await _read(conn, trip_id, partner_id)


async def _read(conn: Connection, trip_id: uuid.UUID, partner_id: uuid.UUID | None) -> wire.Trip:
    row = await trips_db.get(conn, trip_id, partner_id)
    if row is None:
        raise NotFound("no such trip")
    members = await trips_db.members(conn, [trip_id])
    crossings = [
        Crossing(
            id=c["id"],
            direction=c["direction"],
            port_code=c["port_code"],
            lane_code=c["lane_code"],
            crossed_at=c["crossed_at"],
            mode=c["mode"],
        )
        for c in await trips_db.vehicle_crossings(conn, trip_id)
    ]
    return _trip(row, members, crossings)


def _trip(
    row: asyncpg.Record, members: Sequence[asyncpg.Record], crossings: list[Crossing]
) -> wire.Trip:
    live = row["status"] == "approved" and row["token"] is not None
    return wire.Trip(
        id=row["id"],
        status=row["status"],
        reasons=msgspec.convert(jsonb(row["reasons"]), list[Reason]),
        members=[
            wire.TripMember(m["traveller_id"], m["role"], m["clearance_id"])
            for m in members
            if m["trip_id"] == row["id"]
        ],
        token=row["token"] if live else None,
        not_before=row["not_before"] if live else None,
        expires_at=row["expires_at"] if live else None,
        vehicle_id=row["vehicle_id"],
        port_code=row["port_code"],
        direction=row["direction"],
        expected_at=row["expected_at"],
        cargo_reference=row["cargo_reference"],
        crossings=crossings,
        amendments=row["amendments"],
        cancelled_at=row["cancelled_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def page(
    db: Database, *, partner_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[wire.Trip]:
    async with db.connection() as conn:
        rows = await trips_db.page(
            conn, partner_id=partner_id, after=decode_cursor(cursor), limit=limit
        )
        members = await trips_db.members(conn, [row["id"] for row in rows])
    # The list leaves out each trip's crossings: GET /v1/trips/{id} has them.
    return Page([_trip(row, members, []) for row in rows], next_cursor(rows, limit))


async def dry_run(d: Deciding, request: DryRunRequest) -> DryRunResult:
    """Decide a trip body, or a filed trip as it stands, with the very function a filing uses;
    store nothing."""
    check_one_subject(request)
    data, trip_id = request.trip, request.trip_id
    async with d.db.transaction() as conn:
        if trip_id is not None:
            row = await trips_db.get(conn, trip_id, None)
            if row is None:
                raise NotFound("no such trip")
            members = await trips_db.members(conn, [trip_id])
            data = wire.TripCreate(
                vehicle_id=row["vehicle_id"],
                port_code=row["port_code"],
                direction=row["direction"],
                expected_at=row["expected_at"],
                crew=[wire.CrewMember(m["traveller_id"], m["role"]) for m in members],
                cargo_reference=row["cargo_reference"],
            )
            crew = await _filed_crew(conn, row, members)
        else:
            assert data is not None
            crew = await _crew(conn, d, data, None)
        outcome, hit = await _assess(conn, d, data, crew)
    return DryRunResult(
        status=outcome.status,
        reasons=_reasons(outcome),
        results=[
            RuleEvaluation(
                rule_id=r.rule_id,
                version=r.version,
                name=r.name,
                effect=r.effect,
                reason_code=r.reason_code,
                message=r.message,
                result=r.result,
                elapsed_us=r.elapsed_us,
                cost=r.cost,
                error=r.error,
            )
            for r in outcome.results
        ],
        watchlist_hit=hit,
    )


async def _filed_crew(
    conn: Connection, row: asyncpg.Record, members: Sequence[asyncpg.Record]
) -> _Crew:
    """A filed trip's rows as they are now (its arrival may be past, so not checked again)."""
    vehicle = await vehicles_db.TABLE.get_any(conn, row["vehicle_id"])
    travellers = [await travellers_db.TABLE.get_any(conn, m["traveller_id"]) for m in members]
    if vehicle is None or any(t is None for t in travellers):
        raise ValidationFailed.one("trip_id", "the trip's vehicle or a member has been erased")
    # The rules see no clearance: none is read for a dry run.
    return _Crew(vehicle, tuple(t for t in travellers if t is not None), ())
