"""The SDK (``greenlane.client``): against the live app, and scripted answers for its retries."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, overload

import anyio
import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient, TestClient

from greenlane.client import (
    AdminClient,
    AsyncAdminClient,
    AsyncLaneClient,
    AsyncPartnerClient,
    AuthenticationError,
    ConflictError,
    ConnectionFailedError,
    ForbiddenError,
    GreenlaneError,
    LaneClient,
    NotFoundError,
    PartnerClient,
    RateLimitedError,
    ServerError,
    ServiceUnavailableError,
    ValidationError,
)
from greenlane.client.sync import _Client
from greenlane.settings import Settings
from greenlane.wire.applications import ApplicationCreate
from greenlane.wire.identity import ClientCreate, PartnerCreate, PortCreate
from greenlane.wire.registration import EmployerIn, TravellerCreate, TravellerPatch, VehicleCreate
from greenlane.wire.verify import PresentedDocument

from . import bodies
from .actors import Actor, Admin, make_admin_credentials
from .lane_setup import PORT
from .sdk import BASE, C, sdk

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def driver() -> TravellerCreate:
    return msgspec.convert(bodies.driver(), TravellerCreate)


def truck() -> VehicleCreate:
    return msgspec.convert(bodies.vehicle(), VehicleCreate)


def trip(traveller_id: uuid.UUID, vehicle_id: uuid.UUID | None = None) -> ApplicationCreate:
    return ApplicationCreate(
        traveller_id=traveller_id,
        vehicle_id=vehicle_id,
        ports=[PORT],
        valid_from=date.today(),
        valid_until=date.today() + timedelta(days=10),
        entries="multiple",
        purpose="Deliveries",
    )


# --- against the live app ------------------------------------------------------------------


def test_a_partner_and_a_lane_work_end_to_end(lane_and_partner: tuple[Actor, Actor]) -> None:
    lane_actor, partner_actor = lane_and_partner
    with sdk(PartnerClient, partner_actor) as partner, sdk(LaneClient, lane_actor) as lane:
        assert partner.me().role == "partner"
        body = driver()
        traveller = partner.register_traveller(body)
        assert traveller.document.number.endswith(body.document.number[-3:])
        assert traveller.document.number != body.document.number  # masked
        vehicle = partner.register_vehicle(truck())
        filed = partner.file_application(trip(traveller.id, vehicle.id))
        assert filed.status == "approved"
        assert filed.clearance is not None
        assert partner.get_application(filed.id).id == filed.id
        clearance = partner.get_clearance(filed.clearance.id)
        assert clearance.status == "active"
        assert partner.clearance_qr(clearance.id, "png").startswith(PNG_SIGNATURE)
        assert partner.clearance_qr(clearance.id).startswith(b"<?xml")

        answer = lane.verify(
            clearance.token,
            "entry",
            document=PresentedDocument(number=body.document.number, issuing_state="THA"),
            plate=vehicle.plate,
        )
        assert answer.decision == "green"
        assert answer.mode == "online"
        assert answer.holder is not None
        assert answer.holder.surname == body.surname
        assert answer.vehicle is not None
        assert answer.vehicle.kind == "truck"
        crossings = partner.get_clearance(clearance.id).crossings
        assert [c.id for c in crossings] == [answer.crossing_id]

        employer = EmployerIn(name="Siam Freight", country="THA")
        changed = partner.update_traveller(traveller.id, TravellerPatch(employer=employer))
        assert changed.employer.name == "Siam Freight"
        assert changed.redecided == []  # not a change of identity
        assert [a.id for a in partner.list_applications(status="approved")] == [filed.id]
        assert lane.revocations().items == []
        partner.erase_traveller(traveller.id)  # erasure revokes the traveller's clearances
        assert len(lane.revocations().items) == 1
        assert lane.jwks()["keys"]


def test_lists_are_iterated_across_pages(lane_and_partner: tuple[Actor, Actor]) -> None:
    _, partner_actor = lane_and_partner
    partner = sdk(PartnerClient, partner_actor)
    made = {partner.register_traveller(driver()).id for _ in range(3)}
    assert {t.id for t in partner.list_travellers(page_size=1)} == made


def test_problems_become_typed_errors(
    lane_and_partner: tuple[Actor, Actor], client: TestClient[Litestar]
) -> None:
    lane_actor, partner_actor = lane_and_partner
    partner = sdk(PartnerClient, partner_actor)

    expired = bodies.driver()
    expired["document"]["expiry_date"] = bodies.in_days(-1)
    with pytest.raises(ValidationError) as invalid:
        partner.register_traveller(msgspec.convert(expired, TravellerCreate))
    assert invalid.value.status == 422
    assert invalid.value.type == "urn:greenlane:problem:validation-failed"
    assert [e.field for e in invalid.value.errors] == ["document.expiry_date"]

    with pytest.raises(NotFoundError) as missing:
        partner.get_traveller(uuid.uuid4())
    assert missing.value.status == 404

    body = driver()
    first = partner.register_traveller(body)
    with pytest.raises(ConflictError) as duplicate:
        partner.register_traveller(body)  # a new call: a new idempotency key
    assert duplicate.value.existing_id == str(first.id)

    with pytest.raises(ForbiddenError):
        sdk(PartnerClient, lane_actor).register_traveller(driver())

    wrong = PartnerClient(BASE, partner_actor.client_id, "not-the-secret", http_client=client)
    with pytest.raises(AuthenticationError) as refused:
        wrong.me()
    assert refused.value.status == 401
    assert refused.value.title == "invalid_client"


def test_admin_client_sets_up_partners(admin: Admin) -> None:
    with sdk(AdminClient, admin) as sdk_admin:
        partner = sdk_admin.create_partner(
            PartnerCreate(name="Mekong Freight", country="VNM", contact_email="ops@mf.example")
        )
        assert partner.country == "VNM"


@pytest.mark.anyio
async def test_async_twins_against_the_app(settings: Settings, clean_database: str) -> None:
    from greenlane.app import create_app

    admin_id, admin_secret = await anyio.to_thread.run_sync(make_admin_credentials, settings)
    async with AsyncTestClient(app=create_app(settings)) as http:
        admin = AsyncAdminClient(BASE, admin_id, admin_secret, http_client=http)
        await admin.create_port(
            PortCreate(code=PORT, name="Bangkok", country="THA", kinds=["passenger"])
        )
        partner_row = await admin.create_partner(
            PartnerCreate(name="Async Co", country="THA", contact_email="a@b.example")
        )
        partner_app = await admin.create_client(
            ClientCreate(role="partner", name="p", partner_id=partner_row.id)
        )
        lane_app = await admin.create_client(
            ClientCreate(role="lane", name="l", port_code=PORT, lane_code="A1")
        )
        partner = AsyncPartnerClient(
            BASE, str(partner_app.client_id), partner_app.client_secret, http_client=http
        )
        lane = AsyncLaneClient(
            BASE, str(lane_app.client_id), lane_app.client_secret, http_client=http
        )
        body = msgspec.convert(bodies.traveller(), TravellerCreate)
        traveller = await partner.register_traveller(body)
        assert [t.id async for t in partner.list_travellers()] == [traveller.id]
        filed = await partner.file_application(trip(traveller.id))
        assert filed.clearance is not None
        answer = await lane.verify(
            filed.clearance.token,
            "entry",
            document=PresentedDocument(number=body.document.number, issuing_state="THA"),
        )
        assert answer.decision == "green"
        with pytest.raises(NotFoundError):
            await partner.get_clearance(uuid.uuid4())


# --- scripted answers: retries, idempotency keys, token refresh ----------------------------

Handler = Callable[[httpx.Request], httpx.Response]


class Script:
    """Answers the token endpoint itself and every other request from a list, in order."""

    def __init__(self, *answers: httpx.Response | Exception, expires_in: int = 900) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.sign_ins = 0
        self.expires_in = expires_in

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            self.sign_ins += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"token-{self.sign_ins}",
                    "token_type": "Bearer",
                    "expires_in": self.expires_in,
                    "scope": "partner",
                },
            )
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def problem(status: int, slug: str, retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return httpx.Response(
        status,
        headers={**headers, "Content-Type": "application/problem+json"},
        content=json.dumps(
            {"type": f"urn:greenlane:problem:{slug}", "title": slug, "status": status, "detail": ""}
        ).encode(),
    )


def me_answer() -> httpx.Response:
    return httpx.Response(
        200, json={"client_id": str(uuid.uuid4()), "role": "partner", "scope": "partner"}
    )


@overload
def scripted(script: Script, sleeps: list[float]) -> PartnerClient: ...
@overload
def scripted(script: Script, sleeps: list[float], kind: type[C]) -> C: ...
def scripted(script: Script, sleeps: list[float], kind: type[_Client] = PartnerClient) -> _Client:
    """A client of ``kind`` whose requests ``script`` answers and whose waits go to ``sleeps``."""
    return kind(
        "http://greenlane.test",
        "id",
        "secret",
        http_client=httpx.Client(transport=httpx.MockTransport(script)),
        sleep=sleeps.append,
    )


def test_retries_wait_as_long_as_retry_after_says() -> None:
    script = Script(
        problem(503, "service-unavailable", "2"), problem(429, "rate-limited", "1"), me_answer()
    )
    sleeps: list[float] = []
    assert scripted(script, sleeps).me().role == "partner"
    assert sleeps == [2.0, 1.0]
    assert len(script.requests) == 3


def test_retries_are_bounded_and_the_last_answer_is_raised() -> None:
    script = Script(*[problem(503, "service-unavailable", "1") for _ in range(4)])
    sleeps: list[float] = []
    with pytest.raises(ServiceUnavailableError) as unavailable:
        scripted(script, sleeps).me()
    assert unavailable.value.retry_after == 1.0
    assert len(script.requests) == 4
    assert sleeps == [1.0, 1.0, 1.0]


def test_a_retry_after_beyond_the_limit_is_not_waited_for() -> None:
    script = Script(problem(429, "rate-limited", "3600"))
    sleeps: list[float] = []
    with pytest.raises(RateLimitedError) as limited:
        scripted(script, sleeps).me()
    assert limited.value.retry_after == 3600.0
    assert sleeps == []


@pytest.mark.parametrize(
    ("answer", "raised", "title"),
    [
        (
            httpx.Response(502, headers={"Content-Type": "text/html"}, content=b"<h1>oops</h1>"),
            ServerError,
            "Bad Gateway",
        ),
        (
            httpx.Response(
                404, headers={"Content-Type": "application/problem+json"}, content=b'{"x": 1}'
            ),
            NotFoundError,
            "Not Found",
        ),
    ],
    ids=["a gateway's page", "a problem without its fields"],
)
def test_an_error_answer_that_is_not_ours_still_raises_by_its_status(
    answer: httpx.Response, raised: type[GreenlaneError], title: str
) -> None:
    with pytest.raises(raised) as caught:
        scripted(Script(answer), []).me()
    assert caught.value.title == title
    assert caught.value.type == "about:blank"


def test_backoff_without_retry_after_grows_with_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[tuple[float, float]] = []

    def highest(low: float, high: float) -> float:  # full jitter, drawn at its ceiling
        drawn.append((low, high))
        return high

    monkeypatch.setattr("greenlane.client.exchange.random.uniform", highest)
    script = Script(
        httpx.ConnectError("refused"), httpx.ConnectError("refused"), problem(503, "x"), me_answer()
    )
    sleeps: list[float] = []
    scripted(script, sleeps).me()
    assert sleeps == [0.25, 0.5, 1.0]  # base 0.25 s, doubling
    assert drawn == [(0, 0.25), (0, 0.5), (0, 1.0)]  # each wait anywhere from 0 to its ceiling


CREATING_CALLS: dict[str, Callable[[PartnerClient], object]] = {
    "register_traveller": lambda partner: partner.register_traveller(driver()),
    "register_vehicle": lambda partner: partner.register_vehicle(truck()),
    "file_application": lambda partner: partner.file_application(trip(uuid.uuid4())),
}


@pytest.mark.parametrize("call", CREATING_CALLS.values(), ids=CREATING_CALLS.keys())
def test_the_idempotency_key_is_kept_across_retries_of_one_call(
    call: Callable[[PartnerClient], object],
) -> None:
    created = httpx.Response(201, content=b"{}")
    script = Script(
        httpx.ReadTimeout("no answer"), problem(503, "service-unavailable", "0"), created, created
    )
    partner = scripted(script, [])
    with pytest.raises(msgspec.ValidationError):  # the scripted "{}" is not what was created
        call(partner)
    with pytest.raises(msgspec.ValidationError):
        call(partner)
    keys = [request.headers["Idempotency-Key"] for request in script.requests]
    assert keys[0] == keys[1] == keys[2]
    assert keys[3] != keys[0]
    assert uuid.UUID(keys[0])
    assert script.requests[0].content == script.requests[2].content  # the same body each time


def test_a_traveller_is_sent_as_given() -> None:
    created = httpx.Response(201, content=b"{}")
    script = Script(created)
    body = driver()
    with pytest.raises(msgspec.ValidationError):
        scripted(script, []).register_traveller(body)
    sent = msgspec.json.decode(script.requests[0].content)
    assert sent["document"]["number"] == body.document.number


def test_a_request_that_may_have_arrived_is_not_resent_without_a_key() -> None:
    script = Script(httpx.ReadTimeout("no answer"), me_answer())
    admin = scripted(script, [], AdminClient)
    with pytest.raises(ConnectionFailedError) as failed:
        admin.create_partner(
            PartnerCreate(name="Once Only", country="THA", contact_email="o@o.example")
        )
    assert failed.value.status == 0
    assert isinstance(failed.value.__cause__, httpx.ReadTimeout)
    assert len(script.requests) == 1


def test_every_request_carries_all_four_timeouts() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return Script()(request) if request.url.path == "/oauth/token" else me_answer()

    partner = PartnerClient(
        "http://greenlane.test",
        "id",
        "secret",
        http_client=httpx.Client(transport=httpx.MockTransport(handler), timeout=None),  # noqa: S113
    )
    partner.me()
    assert all(set(t) == {"connect", "read", "write", "pool"} for t in seen)
    assert all(value is not None for t in seen for value in t.values())


def test_the_access_token_is_renewed_before_it_expires() -> None:
    # 30 s of life is inside the refresh margin: every call signs in again.
    short = Script(me_answer(), me_answer(), expires_in=30)
    partner = scripted(short, [])
    partner.me()
    partner.me()
    assert short.sign_ins == 2
    long = Script(me_answer(), me_answer())
    partner = scripted(long, [])
    partner.me()
    partner.me()
    assert long.sign_ins == 1
    assert [r.headers["Authorization"] for r in long.requests] == ["Bearer token-1"] * 2


def test_a_refused_token_is_renewed_once() -> None:
    script = Script(problem(401, "unauthorized"), me_answer())
    scripted(script, []).me()
    assert script.sign_ins == 2
    assert [r.headers["Authorization"] for r in script.requests] == [
        "Bearer token-1",
        "Bearer token-2",
    ]
    refused = Script(problem(401, "unauthorized"), problem(401, "unauthorized"))
    with pytest.raises(AuthenticationError):
        scripted(refused, []).me()


def test_a_client_without_credentials_is_not_sent_twice_on_a_401() -> None:
    script = Script(problem(401, "unauthorized"), me_answer())
    anonymous = PartnerClient(
        "http://greenlane.test", http_client=httpx.Client(transport=httpx.MockTransport(script))
    )
    with pytest.raises(AuthenticationError):
        anonymous.me()
    assert len(script.requests) == 1
    assert "Authorization" not in script.requests[0].headers


@pytest.mark.anyio
async def test_the_async_twin_retries_the_same_way() -> None:
    script = Script(
        problem(503, "service-unavailable", "2"), httpx.ConnectError("refused"), me_answer()
    )
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    lane = AsyncLaneClient(
        "http://greenlane.test",
        "id",
        "secret",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(script)),
        sleep=sleep,
    )
    assert (await lane.me()).role == "partner"
    assert sleeps[0] == 2.0
    assert len(sleeps) == 2


def test_the_sdk_does_not_import_the_server() -> None:
    probe = (
        "import sys, greenlane.client, greenlane.client.offline\n"
        "server = ('litestar', 'asyncpg', 'sqlalchemy', 'alembic', 'uvicorn')\n"
        "ours = ('greenlane.client', 'greenlane.wire', 'greenlane.domain')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in server\n"
        "       or (m.startswith('greenlane.') and not m.startswith(ours))]\n"
        "print(bad)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


# --- the SDK guide's samples run as written ---------------------------------------------------

SDK_GUIDE = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"


def guide_sample(name: str) -> str:
    text = SDK_GUIDE.read_text()
    block = text.split(f"<!-- sample:{name} -->", 1)[1].split(f"<!-- /sample:{name} -->", 1)[0]
    return block.strip().removeprefix("```python").removesuffix("```")


def bound_to(kind: type[C], http: TestClient[Litestar]) -> Callable[..., C]:
    """``kind`` as the samples construct it, but talking to the in-process app."""

    def construct(base_url: str, *args: Any, **kwargs: Any) -> C:
        return kind(BASE, *args, http_client=http, **kwargs)

    return construct


def test_the_guide_samples_run(
    lane_and_partner: tuple[Actor, Actor],
    client: TestClient[Litestar],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    import greenlane.client

    lane_actor, partner_actor = lane_and_partner
    monkeypatch.setenv("PARTNER_CLIENT_ID", partner_actor.client_id)
    monkeypatch.setenv("PARTNER_CLIENT_SECRET", partner_actor.secret)
    monkeypatch.setenv("LANE_CLIENT_ID", lane_actor.client_id)
    monkeypatch.setenv("LANE_CLIENT_SECRET", lane_actor.secret)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(greenlane.client, "PartnerClient", bound_to(PartnerClient, client))
    monkeypatch.setattr(greenlane.client, "LaneClient", bound_to(LaneClient, client))
    namespace: dict[str, Any] = {}
    for name in ("partner", "lane"):
        exec(compile(guide_sample(name), f"docs/sdk.md ({name})", "exec"), namespace)  # noqa: S102
    assert namespace["application"].status == "approved"
    assert namespace["qr_png"].startswith(PNG_SIGNATURE)
    assert namespace["answer"].decision == "green"
    assert namespace["answer"].mode == "degraded"
    report = namespace["report"]
    assert len(report.recorded) == 1
    assert report.disagreements == ()
    clearance_id = namespace["application"].clearance.id
    crossings = sdk(PartnerClient, partner_actor).get_clearance(clearance_id).crossings
    assert [c.direction for c in crossings] == ["entry", "exit"]
    assert (tmp_path / "lane-state.json").exists()
