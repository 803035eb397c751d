"""Every API call the SDK makes, as an :class:`Operation` built from the server's own wire types.

Sync and async clients both call these builders and differ only in how they run the result.
Bodies are encoded and answers decoded by msgspec with the Structs of ``greenlane.wire``, the
same definitions the server validates against, so the two sides cannot disagree on a field.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

import httpx
import msgspec

from greenlane.client.exchange import Operation
from greenlane.domain.status_list import MEDIA_TYPE as STATUS_LIST_MEDIA_TYPE
from greenlane.wire.applications import Application, ApplicationCreate, DecisionRequest
from greenlane.wire.applications import Status as ApplicationStatus
from greenlane.wire.clearances import Clearance, RevocationPage, RevokeRequest, SuspendRequest
from greenlane.wire.common import MAX_LIMIT, Page
from greenlane.wire.federation import LanePeers
from greenlane.wire.identity import (
    Client,
    ClientCreate,
    ClientCreated,
    Me,
    Partner,
    PartnerCreate,
    Port,
    PortCreate,
)
from greenlane.wire.lifecycle import (
    AppealCreate,
    DocumentReplaced,
    DocumentReplacement,
    FalseHitCreate,
    InformationAnswer,
    InformationRequestCreate,
    SecondLine,
    SecondLineCreate,
)
from greenlane.wire.registration import (
    Traveller,
    TravellerChange,
    TravellerCreate,
    TravellerPatch,
    Vehicle,
    VehicleCreate,
    VehiclePatch,
)
from greenlane.wire.status_lists import StatusListAggregation
from greenlane.wire.trips import (
    ScannedDocument,
    Trip,
    TripCreate,
    TripVerifyAnswer,
    TripVerifyRequest,
)
from greenlane.wire.verify import PresentedDocument, VerifyAnswer, VerifyRequest

T = TypeVar("T")
Id = uuid.UUID | str
QrFormat = Literal["svg", "png"]
ReviewStatus = Literal["referred", "appealed", "info_requested"]
PAGE_SIZE = MAX_LIMIT  # the largest page the API serves: fewest round trips when iterating

_ENCODE = msgspec.json.Encoder()


def _decoder(kind: type[T]) -> Callable[[httpx.Response], T]:
    decoder = msgspec.json.Decoder(kind)
    return lambda response: decoder.decode(response.content)


def _nothing(response: httpx.Response) -> None:
    return None


def _bytes(response: httpx.Response) -> bytes:
    return response.content


def _get(path: str, kind: type[T], params: dict[str, str] | None = None) -> Operation[T]:
    return Operation("GET", path, _decoder(kind), params=params, replay_safe=True)


def _send(method: str, path: str, body: msgspec.Struct, kind: type[T]) -> Operation[T]:
    return Operation(method, path, _decoder(kind), content=_ENCODE.encode(body))


def _create(
    path: str, body: msgspec.Struct, kind: type[T], idempotency_key: str | None
) -> Operation[T]:
    """A creating POST: its key, made once here, goes with every retry of this one call."""
    return Operation(
        "POST",
        path,
        _decoder(kind),
        content=_ENCODE.encode(body),
        headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
        replay_safe=True,
    )


def _page_params(limit: int, cursor: str | None, **extra: str | None) -> dict[str, str]:
    params = {"limit": str(limit)}
    if cursor is not None:
        params["cursor"] = cursor
    params.update({name: value for name, value in extra.items() if value is not None})
    return params


def me() -> Operation[Me]:
    return _get("/v1/me", Me)


# --- partners ------------------------------------------------------------------------------


def register_traveller(body: TravellerCreate, idempotency_key: str | None) -> Operation[Traveller]:
    return _create("/v1/travellers", body, Traveller, idempotency_key)


def get_traveller(traveller_id: Id) -> Operation[Traveller]:
    return _get(f"/v1/travellers/{traveller_id}", Traveller)


def travellers_page(cursor: str | None, limit: int = PAGE_SIZE) -> Operation[Page[Traveller]]:
    return _get("/v1/travellers", Page[Traveller], _page_params(limit, cursor))


def update_traveller(traveller_id: Id, patch: TravellerPatch) -> Operation[TravellerChange]:
    return _send("PATCH", f"/v1/travellers/{traveller_id}", patch, TravellerChange)


def erase_traveller(traveller_id: Id) -> Operation[None]:
    return Operation("DELETE", f"/v1/travellers/{traveller_id}", _nothing)


def register_vehicle(body: VehicleCreate, idempotency_key: str | None) -> Operation[Vehicle]:
    return _create("/v1/vehicles", body, Vehicle, idempotency_key)


def get_vehicle(vehicle_id: Id) -> Operation[Vehicle]:
    return _get(f"/v1/vehicles/{vehicle_id}", Vehicle)


def vehicles_page(cursor: str | None, limit: int = PAGE_SIZE) -> Operation[Page[Vehicle]]:
    return _get("/v1/vehicles", Page[Vehicle], _page_params(limit, cursor))


def update_vehicle(vehicle_id: Id, patch: VehiclePatch) -> Operation[Vehicle]:
    return _send("PATCH", f"/v1/vehicles/{vehicle_id}", patch, Vehicle)


def erase_vehicle(vehicle_id: Id) -> Operation[None]:
    return Operation("DELETE", f"/v1/vehicles/{vehicle_id}", _nothing)


def file_application(
    body: ApplicationCreate, idempotency_key: str | None
) -> Operation[Application]:
    return _create("/v1/applications", body, Application, idempotency_key)


def get_application(application_id: Id) -> Operation[Application]:
    return _get(f"/v1/applications/{application_id}", Application)


def applications_page(
    cursor: str | None, status: ApplicationStatus | None = None, limit: int = PAGE_SIZE
) -> Operation[Page[Application]]:
    return _get("/v1/applications", Page[Application], _page_params(limit, cursor, status=status))


def get_clearance(clearance_id: Id) -> Operation[Clearance]:
    return _get(f"/v1/clearances/{clearance_id}", Clearance)


def clearance_qr(clearance_id: Id, image_format: QrFormat) -> Operation[bytes]:
    return Operation(
        "GET",
        f"/v1/clearances/{clearance_id}/qr",
        _bytes,
        params={"format": image_format},
        headers={"Accept": "image/png" if image_format == "png" else "image/svg+xml"},
        replay_safe=True,
    )


def revoke_clearance(clearance_id: Id, reason: str) -> Operation[Clearance]:
    return _send(
        "POST", f"/v1/clearances/{clearance_id}/revoke", RevokeRequest(reason=reason), Clearance
    )


# --- a case after its first decision (docs/lifecycle.md) -----------------------------------


def answer_information(application_id: Id, body: InformationAnswer) -> Operation[Application]:
    return _send("POST", f"/v1/applications/{application_id}/information", body, Application)


def appeal(application_id: Id, grounds: str) -> Operation[Application]:
    body = AppealCreate(grounds=grounds)
    return _send("POST", f"/v1/applications/{application_id}/appeal", body, Application)


def renew_clearance(clearance_id: Id) -> Operation[Application]:
    return Operation("POST", f"/v1/clearances/{clearance_id}/renew", _decoder(Application))


def replace_document(traveller_id: Id, body: DocumentReplacement) -> Operation[DocumentReplaced]:
    # Replacing with the same document twice changes nothing more than once: safe to resend.
    return Operation(
        "PUT",
        f"/v1/travellers/{traveller_id}/document",
        _decoder(DocumentReplaced),
        content=_ENCODE.encode(body),
    )


def file_trip(body: TripCreate, idempotency_key: str | None) -> Operation[Trip]:
    return _create("/v1/trips", body, Trip, idempotency_key)


def get_trip(trip_id: Id) -> Operation[Trip]:
    return _get(f"/v1/trips/{trip_id}", Trip)


def trips_page(cursor: str | None, limit: int = PAGE_SIZE) -> Operation[Page[Trip]]:
    return _get("/v1/trips", Page[Trip], _page_params(limit, cursor))


def amend_trip(trip_id: Id, body: TripCreate) -> Operation[Trip]:
    # A whole replacement: sent twice, the second is the same amendment decided again.
    return _send("PUT", f"/v1/trips/{trip_id}", body, Trip)


def cancel_trip(trip_id: Id) -> Operation[Trip]:
    # Cancelling twice changes nothing, so a resend is harmless.
    return Operation("POST", f"/v1/trips/{trip_id}/cancel", _decoder(Trip), replay_safe=True)


def trip_qr(trip_id: Id, image_format: QrFormat) -> Operation[bytes]:
    return Operation(
        "GET",
        f"/v1/trips/{trip_id}/qr",
        _bytes,
        params={"format": image_format},
        headers={"Accept": "image/png" if image_format == "png" else "image/svg+xml"},
        replay_safe=True,
    )


# --- lanes ---------------------------------------------------------------------------------


def question(
    token: str,
    direction: Literal["entry", "exit"],
    *,
    event_id: uuid.UUID | None = None,
    document: PresentedDocument | None = None,
    mrz: str | None = None,
    plate: str | None = None,
    observed_at: datetime | None = None,
) -> VerifyRequest:
    """A verify request; a fresh event id unless the lane gives its own (to repeat a question)."""
    return VerifyRequest(
        token=token,
        direction=direction,
        event_id=event_id or uuid.uuid4(),
        document=document,
        mrz=mrz,
        plate=plate,
        observed_at=observed_at,
    )


def verify(request: VerifyRequest) -> Operation[VerifyAnswer]:
    # The server answers a repeated event id from its record, so a resend is harmless.
    return Operation(
        "POST",
        "/v1/verify",
        _decoder(VerifyAnswer),
        content=_ENCODE.encode(request),
        replay_safe=True,
    )


def trip_question(
    token: str,
    direction: Literal["entry", "exit"],
    *,
    plate: str,
    documents: list[ScannedDocument],
    event_id: uuid.UUID | None = None,
    observed_at: datetime | None = None,
) -> TripVerifyRequest:
    """A trip verify request; a fresh event id unless the lane gives its own."""
    return TripVerifyRequest(
        token=token,
        direction=direction,
        event_id=event_id or uuid.uuid4(),
        plate=plate,
        documents=documents,
        observed_at=observed_at,
    )


def verify_trip(request: TripVerifyRequest) -> Operation[TripVerifyAnswer]:
    # As for one clearance: a repeated event id is answered from the server's record.
    return Operation(
        "POST",
        "/v1/verify/trip",
        _decoder(TripVerifyAnswer),
        content=_ENCODE.encode(request),
        replay_safe=True,
    )


def jwks() -> Operation[dict[str, Any]]:
    return Operation(
        "GET", "/.well-known/jwks.json", _decoder(dict[str, Any]), replay_safe=True, signed=False
    )


def revocations(since: str, limit: int = PAGE_SIZE) -> Operation[RevocationPage]:
    return _get("/v1/revocations", RevocationPage, {"since": since, "limit": str(limit)})


@dataclass(frozen=True, slots=True)
class FetchedStatusList:
    """A status list as fetched: the token (None when the server said 304 Not Modified, the
    ETag sent being current) and the ETag to send next time."""

    token: str | None
    etag: str | None


# A list of 2**24 entries at 2 bits that did not compress at all, in a JWT: far above any list
# we serve (tens of kilobytes), a bound on what a lane reads.
MAX_STATUS_LIST_BYTES = 8 * 1024 * 1024


def _status_list(etag: str | None) -> Callable[[httpx.Response], FetchedStatusList]:
    def read(response: httpx.Response) -> FetchedStatusList:
        if response.status_code == 304:
            return FetchedStatusList(None, response.headers.get("etag", etag))
        if len(response.content) > MAX_STATUS_LIST_BYTES:
            raise ValueError("the status list is larger than any list greenlane serves")
        return FetchedStatusList(response.text, response.headers.get("etag"))

    return read


def status_list(number: int, etag: str | None = None) -> Operation[FetchedStatusList]:
    """``GET /v1/status-lists/{number}``, conditional on ``etag`` when there is one."""
    headers = {"Accept": STATUS_LIST_MEDIA_TYPE}
    if etag is not None:
        headers["If-None-Match"] = etag
    return Operation(
        "GET",
        f"/v1/status-lists/{number}",
        _status_list(etag),
        headers=headers,
        replay_safe=True,
        signed=False,
    )


def status_lists() -> Operation[StatusListAggregation]:
    return Operation(
        "GET",
        "/v1/status-lists",
        _decoder(StatusListAggregation),
        replay_safe=True,
        signed=False,
    )


def peers() -> Operation[LanePeers]:
    return _get("/v1/federation/peers", LanePeers)


# --- administrators ------------------------------------------------------------------------


def create_partner(body: PartnerCreate) -> Operation[Partner]:
    return _send("POST", "/v1/admin/partners", body, Partner)


def create_port(body: PortCreate) -> Operation[Port]:
    return _send("POST", "/v1/admin/ports", body, Port)


def create_client(body: ClientCreate) -> Operation[ClientCreated]:
    return _send("POST", "/v1/admin/clients", body, ClientCreated)


def disable_client(client_id: Id) -> Operation[Client]:
    return Operation("DELETE", f"/v1/admin/clients/{client_id}", _decoder(Client))


def admin_get_application(application_id: Id) -> Operation[Application]:
    return _get(f"/v1/admin/applications/{application_id}", Application)


def reviews_page(
    cursor: str | None, status: ReviewStatus, limit: int = PAGE_SIZE
) -> Operation[Page[Application]]:
    return _get("/v1/admin/reviews", Page[Application], _page_params(limit, cursor, status=status))


def decide_application(application_id: Id, body: DecisionRequest) -> Operation[Application]:
    return _send("POST", f"/v1/admin/applications/{application_id}/decision", body, Application)


def request_information(
    application_id: Id, body: InformationRequestCreate
) -> Operation[Application]:
    return _send("POST", f"/v1/admin/reviews/{application_id}/request-info", body, Application)


def mark_false_hit(application_id: Id, body: FalseHitCreate) -> Operation[Application]:
    return _send("POST", f"/v1/admin/applications/{application_id}/false-hits", body, Application)


def second_line(clearance_id: Id, reason: str) -> Operation[SecondLine]:
    body = SecondLineCreate(reason=reason)
    return _send("POST", f"/v1/admin/clearances/{clearance_id}/second-line", body, SecondLine)


def suspend_clearance(clearance_id: Id, reason: str) -> Operation[Clearance]:
    return _send(
        "POST", f"/v1/clearances/{clearance_id}/suspend", SuspendRequest(reason=reason), Clearance
    )


def reinstate_clearance(clearance_id: Id) -> Operation[Clearance]:
    return Operation("POST", f"/v1/clearances/{clearance_id}/reinstate", _decoder(Clearance))


def admin_revoke_clearance(clearance_id: Id, reason: str) -> Operation[Clearance]:
    return _send(
        "POST",
        f"/v1/admin/clearances/{clearance_id}/revoke",
        RevokeRequest(reason=reason),
        Clearance,
    )
