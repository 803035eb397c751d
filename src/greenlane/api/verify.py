"""``POST /v1/verify``: the lane hot path, kept apart so that it stays this small."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, Router, post
from litestar.params import Body

from greenlane.api.creating import REPLAYED, REPLAYED_HEADER
from greenlane.api.deps import LaneDep
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, allow
from greenlane.wire.trips import TripVerifyAnswer, TripVerifyRequest
from greenlane.wire.verify import VerifyAnswer, VerifyRequest


@post(
    "/verify",
    summary="Decide a clearance token at a lane and record the crossing",
    description=(
        "A token that fails is answered 200 with decision `deny` (the lane asked a valid "
        "question); 4xx is only for a malformed request. A `green` answer is sent only after "
        "its crossing is committed (mode `online`) or fsynced to the local spool (`degraded`). "
        "A repeated `event_id` gets the first answer again, byte for byte, with "
        "`Idempotent-Replayed: true`."
    ),
    status_code=200,
    responses=documented(503),  # the spool could not be written: nothing recorded, retry
    response_headers=[REPLAYED_HEADER],
    opt=allow("lane"),
    security=SECURITY,
)
async def verify(lane: LaneDep, data: Annotated[VerifyRequest, Body()]) -> Response[VerifyAnswer]:
    answer, replayed = await lane.verifier.verify(lane.identity, data)
    return Response(answer, headers=REPLAYED if replayed else None)


@post(
    "/verify/trip",
    summary="Decide a trip token, the plate and every document in the vehicle with one scan",
    description=(
        "Each member gets the checks of a single verify; `occupant_missing` and "
        "`occupant_not_listed` say where the scans and the manifest differ. The trip is `green` "
        "only when every member is, and then a crossing for every member and for the vehicle is "
        "committed (or, `degraded`, fsynced to the local spool) before the answer is sent. A "
        "repeated `event_id` gets the first answer again with `Idempotent-Replayed: true`."
    ),
    status_code=200,
    responses=documented(503),
    response_headers=[REPLAYED_HEADER],
    opt=allow("lane"),
    security=SECURITY,
)
async def verify_trip(
    lane: LaneDep, data: Annotated[TripVerifyRequest, Body()]
) -> Response[TripVerifyAnswer]:
    answer, replayed = await lane.trips.verify(lane.identity, data)
    return Response(answer, headers=REPLAYED if replayed else None)


# Litestar's own request class, not the application's (api/request_body.py): verify stores no
# body, so a repeated key changes nothing kept, and the hot path reads its body once.
lane_router = Router(
    path="/v1", route_handlers=[verify, verify_trip], tags=["lanes"], request_class=Request
)
