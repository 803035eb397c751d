"""A case's life through the SDK (sync and async twins), as a partner app and a reviewer's tool
would drive it: information, an appeal decided by a second reviewer, a renewal, a new passport,
a false hit and a second-line check."""

from __future__ import annotations

import anyio
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from greenlane.client import (
    AdminClient,
    AsyncAdminClient,
    AsyncPartnerClient,
    LaneClient,
    PartnerClient,
)
from greenlane.client.errors import ConflictError, ForbiddenError
from greenlane.settings import Settings
from greenlane.wire.applications import ApplicationCreate, DecisionRequest
from greenlane.wire.identity import ClientCreate, PartnerCreate, PortCreate
from greenlane.wire.lifecycle import (
    DocumentReplacement,
    FalseHitCreate,
    InformationAnswer,
    InformationRequestCreate,
)
from greenlane.wire.registration import TravellerCreate, TravellerPatch
from greenlane.wire.verify import PresentedDocument

from . import bodies
from .actors import Actor, Admin, make_admin_credentials
from .lane_setup import issue
from .sdk import BASE, NO_WAIT, sdk
from .test_lifecycle import new_passport, watch


def filing(traveller_id: object, **changes: object) -> ApplicationCreate:
    return msgspec.convert(bodies.application(str(traveller_id), **changes), ApplicationCreate)


def test_an_appeal_and_a_renewal_through_the_sdk(admin: Admin, partner: Actor) -> None:
    app = sdk(PartnerClient, partner)
    first = sdk(AdminClient, admin)
    client_id, secret = admin.new_client(role="admin", name="second reviewer")
    second = AdminClient(BASE, client_id, secret, http_client=admin.http, retry=NO_WAIT)

    body = bodies.traveller()
    traveller = app.register_traveller(msgspec.convert(body, TravellerCreate))
    watch(admin, {**body, "id": str(traveller.id)})
    filed = app.file_application(filing(traveller.id))
    assert filed.status == "referred"
    assert [a.id for a in first.list_reviews()] == [filed.id]

    asked = first.request_information(
        filed.id, InformationRequestCreate(items=["employer_letter"], message="The letter?")
    )
    assert asked.status == "info_requested"
    assert [a.id for a in first.list_reviews("info_requested")] == [filed.id]
    answered = app.answer_information(
        filed.id,
        InformationAnswer(statement="Attached.", traveller=TravellerPatch(category="investor")),
    )
    assert answered.status == "referred"
    assert app.get_traveller(traveller.id).category == "investor"

    rejected = first.decide_application(filed.id, DecisionRequest(decision="reject", note="no"))
    assert rejected.rejection is not None
    assert rejected.rejection.appeal_until is not None
    assert app.appeal(filed.id, "The match is somebody else.").status == "appealed"
    with pytest.raises(ForbiddenError):
        first.decide_application(filed.id, DecisionRequest(decision="approve", note="hmm"))
    approved = second.decide_application(
        filed.id, DecisionRequest(decision="approve", note="verified")
    )
    assert approved.status == "approved"
    with pytest.raises(ConflictError) as final:
        app.appeal(filed.id, "again")
    assert final.value.state == "approved"
    history = app.get_application(filed.id).history
    assert history is not None
    assert [step.event for step in history] == [
        "application.filed",
        "information.requested",
        "information.answered",
        "application.decided",
        "application.appealed",
        "appeal.decided",
    ]

    # The traveller is a known person now: the hit was false.
    marked = second.mark_false_hit(filed.id, FalseHitCreate(note="checked with the issuer"))
    assert marked.history is not None
    assert marked.history[-1].event == "watchlist.false_hit"
    short = app.file_application(
        filing(traveller.id, valid_from=bodies.in_days(0), valid_until=bodies.in_days(4))
    )
    assert short.status == "approved"
    assert short.clearance is not None
    renewal = app.renew_clearance(short.clearance.id)
    assert renewal.renews == short.clearance.id
    assert renewal.status == "approved"


def test_a_new_passport_and_a_second_line_check_through_the_sdk(
    lane_and_partner: tuple[Actor, Actor], admin: Admin
) -> None:
    lane_actor, partner_actor = lane_and_partner
    issued = issue(partner_actor)
    app = sdk(PartnerClient, partner_actor)
    lane = sdk(LaneClient, lane_actor)
    officer = sdk(AdminClient, admin)

    replacement = new_passport(issued.traveller)
    replaced = app.replace_document(
        issued.application["traveller_id"],
        msgspec.convert(replacement, DocumentReplacement),
    )
    [again] = replaced.reissued
    assert str(again.replaces) == issued.clearance_id

    flagged = officer.request_second_line(again.clearance.id, "random selection")
    assert flagged.clearance_id == again.clearance.id
    document = replacement["document"]
    presented = PresentedDocument(
        number=document["number"], issuing_state=document["issuing_state"]
    )
    referral = lane.verify(again.clearance.token, "entry", document=presented)
    assert [r.code for r in referral.reasons] == ["second_line_check"]
    assert lane.verify(again.clearance.token, "entry", document=presented).decision == "green"


@pytest.mark.anyio
async def test_the_async_twins_answer_and_appeal(settings: Settings, clean_database: str) -> None:
    from greenlane.app import create_app

    admin_id, admin_secret = await anyio.to_thread.run_sync(make_admin_credentials, settings)
    async with AsyncTestClient(app=create_app(settings)) as http:
        reviewer = AsyncAdminClient(BASE, admin_id, admin_secret, http_client=http)
        await reviewer.create_port(
            PortCreate(code="THBKK", name="Bangkok", country="THA", kinds=["passenger"])
        )
        row = await reviewer.create_partner(
            PartnerCreate(name="Async Co", country="THA", contact_email="a@b.example")
        )
        made = await reviewer.create_client(
            ClientCreate(role="partner", name="p", partner_id=row.id)
        )
        partner = AsyncPartnerClient(
            BASE, str(made.client_id), made.client_secret, http_client=http
        )
        body = bodies.traveller()
        traveller = await partner.register_traveller(msgspec.convert(body, TravellerCreate))
        token = (
            await http.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": admin_id,
                    "client_secret": admin_secret,
                },
            )
        ).json()["access_token"]
        watched = await http.post(
            "/v1/admin/watchlist",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "kind": "document",
                "issuing_state": body["document"]["issuing_state"],
                "number": body["document"]["number"],
                "reason": "lost",
            },
        )
        assert watched.status_code == 201, watched.text
        filed = await partner.file_application(filing(traveller.id))
        assert filed.status == "referred"

        asked = await reviewer.request_information(
            filed.id, InformationRequestCreate(items=["itinerary"], message="Where to?")
        )
        assert asked.status == "info_requested"
        assert [a.id async for a in reviewer.list_reviews("info_requested")] == [asked.id]
        answered = await partner.answer_information(
            filed.id, InformationAnswer(statement="Bangkok, then Chiang Mai.")
        )
        assert answered.status == "referred"
        rejected = await reviewer.decide_application(
            filed.id, DecisionRequest(decision="reject", note="no")
        )
        assert rejected.status == "rejected"
        appealed = await partner.appeal(filed.id, "Please look again.")
        assert appealed.status == "appealed"
        assert (await reviewer.get_application(filed.id)).appeal is not None
