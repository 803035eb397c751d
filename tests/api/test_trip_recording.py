"""Trips recorded in one group commit: what holds between the items of a batch.

Which requests share a batch is up to timing, so these tests build the records a worker would
send and hand them to ``db.verifications.record`` together, on a connection of the test
database: the trips and clearances in them are filed through the API.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from greenlane.db import verifications as verifications_db
from greenlane.domain.verification import MemberRecord, VerificationRecord
from tests.conftest import run
from tests.database import connect

from .actors import Admin
from .lane_setup import Issued
from .trip_setup import TRIP_PORT, Crew, crew


@pytest.fixture
def trip_crew(admin: Admin) -> Crew:
    return crew(admin)


def at_the_lane(trip_crew: Crew, **recorded: Any) -> VerificationRecord:
    """A green record of the crew's lane, made now under a new event id."""
    now = datetime.now(UTC)
    return VerificationRecord(
        lane_client=uuid.UUID(trip_crew.lane.client_id),
        event_id=uuid.uuid4(),
        request_sha=uuid.uuid4().hex * 2,
        port_code=TRIP_PORT,
        lane_code="T1",
        direction="entry",
        decision="green",
        codes=(),
        single_entry=False,
        mode="online",
        latency_us=800,
        occurred_at=now,
        checked_at=now,
        crossing_id=uuid.uuid4(),
        **recorded,
    )


def found_green(
    trip: dict[str, Any], trip_crew: Crew, single: frozenset[str] = frozenset()
) -> VerificationRecord:
    """The record the crew's lane makes of ``trip`` when its checks found everyone green; the
    members whose clearance ids are in ``single`` hold single-entry clearances."""
    members = tuple(
        MemberRecord(
            role=member["role"],
            clearance_id=uuid.UUID(member["clearance_id"]),
            decision="green",
            codes=(),
            single_entry=member["clearance_id"] in single,
            crossing_id=uuid.uuid4(),
        )
        for member in trip["members"]
    )
    return at_the_lane(trip_crew, trip_id=uuid.UUID(trip["id"]), members=members)


def record(database_url: str, records: list[VerificationRecord]) -> list[verifications_db.Recorded]:
    async def go() -> list[verifications_db.Recorded]:
        conn = await connect(database_url)
        try:
            return await verifications_db.record(conn, records)
        finally:
            await conn.close()

    return run(go())


def rows(database_url: str, sql: str, *args: object) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        conn = await connect(database_url)
        try:
            return [dict(row) for row in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return run(go())


def reply(recorded: verifications_db.Recorded) -> dict[str, Any]:
    decoded: dict[str, Any] = msgspec.json.decode(recorded.reply)
    return decoded


def single_entry_passenger(trip_crew: Crew) -> tuple[Issued, str]:
    """A passenger cleared for the trip's port with a single-entry clearance, and its id."""
    person = trip_crew.passenger()
    filed = trip_crew.partner.post(
        "/v1/applications", json=trip_crew.single_entry(person.traveller_id)
    ).json()
    assert filed["status"] == "approved", filed
    clearance_id: str = filed["clearance"]["id"]
    return person, clearance_id


def test_an_event_id_twice_in_one_batch_is_answered_once(
    trip_crew: Crew, clean_database: str
) -> None:
    trip = trip_crew.file()
    first = found_green(trip, trip_crew)
    other_question = msgspec.structs.replace(first, request_sha="ab" * 32)
    alone = at_the_lane(trip_crew, clearance_id=uuid.UUID(trip_crew.co_driver.clearance_id))

    recorded = record(clean_database, [first, alone, first, other_question])

    assert [(r.replayed, r.differs) for r in recorded] == [
        (False, False),
        (False, False),
        (True, False),
        (True, True),
    ]
    assert recorded[2].reply == recorded[0].reply
    answer = reply(recorded[0])
    assert answer["decision"] == "green"
    registered = trip_crew.partner.get(f"/v1/vehicles/{trip_crew.vehicle_id}").json()
    assert answer["vehicle"] == {"plate": registered["plate"], "kind": "truck"}
    assert [m["holder"]["surname"] for m in answer["members"]] == ["Jaidee"] * 2
    assert reply(recorded[1])["decision"] == "green"
    crossed = rows(
        clean_database, "SELECT clearance_id FROM crossings WHERE event_id = $1", first.event_id
    )
    assert len(crossed) == 3  # the driver, the co-driver and the truck, once
    audited = rows(
        clean_database, "SELECT 1 FROM verification_events WHERE event_id = $1", first.event_id
    )
    assert len(audited) == 3  # the trip, and each member under their clearance


def test_two_trips_of_one_batch_claim_a_single_entry_once(
    trip_crew: Crew, clean_database: str
) -> None:
    once, once_clearance = single_entry_passenger(trip_crew)
    other, other_clearance = single_entry_passenger(trip_crew)
    driver = (trip_crew.driver, "driver")
    first = trip_crew.file(driver, (once, "passenger"))
    second = trip_crew.file(driver, (other, "passenger"), (once, "passenger"))
    single = frozenset({once_clearance, other_clearance})
    earlier = found_green(first, trip_crew, single)
    later = found_green(second, trip_crew, single)

    recorded = record(clean_database, [earlier, later])

    won, lost = (reply(r) for r in recorded)
    assert won["decision"] == "green"
    assert lost["decision"] == "deny"
    assert lost["crossing_id"] is None
    assert [(m["decision"], m["codes"]) for m in lost["members"]] == [
        ("green", []),
        ("green", []),
        ("deny", ["already_used"]),
    ]
    assert "holder" not in lost["members"][2]
    # All or none: the later trip's claim of its other single entry is given back.
    uses = rows(clean_database, "SELECT clearance_id, event_id FROM single_entry_uses")
    assert uses == [{"clearance_id": uuid.UUID(once_clearance), "event_id": earlier.event_id}]
    crossed = rows(clean_database, "SELECT event_id FROM crossings")
    assert {row["event_id"] for row in crossed} == {earlier.event_id}
    decided = rows(
        clean_database,
        "SELECT decision, codes FROM verification_events WHERE event_id = $1 AND clearance_id = $2",
        later.event_id,
        uuid.UUID(once_clearance),
    )
    assert decided == [{"decision": "deny", "codes": ["already_used"]}]
