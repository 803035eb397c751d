"""Async clients: the twins of ``sync`` on ``httpx.AsyncClient``, method for method.

Calls are built by ``operations`` and retried by the plan in ``exchange``, exactly as the
blocking clients do; only the driver awaits. A client may be shared between tasks of one event
loop: the access token is renewed under an ``asyncio.Lock``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import httpx

from greenlane.client import operations as ops
from greenlane.client.exchange import (
    DEFAULT_TIMEOUT,
    RENEW,
    Operation,
    Outcome,
    RetryPolicy,
    Sleep,
    TokenCache,
    finish,
    plan,
    request_args,
)
from greenlane.client.operations import FetchedStatusList, Id, QrFormat, ReviewStatus
from greenlane.wire.applications import Application, ApplicationCreate, DecisionRequest
from greenlane.wire.applications import Status as ApplicationStatus
from greenlane.wire.clearances import Clearance, RevocationPage
from greenlane.wire.common import Page
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
    DocumentReplaced,
    DocumentReplacement,
    FalseHitCreate,
    InformationAnswer,
    InformationRequestCreate,
    SecondLine,
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


class AsyncSession:
    """One base URL and one set of client credentials over an ``httpx.AsyncClient``.

    Pass ``http_client`` to bring your own (proxies, TLS settings, or a test transport); a
    client passed in is not closed by :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str | None,
        client_secret: str | None,
        *,
        http_client: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._owned = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._tokens = TokenCache.for_credentials(client_id, client_secret)
        self._token_lock = asyncio.Lock()

    async def run(self, op: Operation[T]) -> T:
        return finish(op, await self._exchange(op))

    async def _exchange(self, op: Operation[Any]) -> httpx.Response:
        steps = plan(op, self._retry, renewable=self._tokens is not None)
        step = next(steps)
        while True:
            outcome: Outcome = None
            if isinstance(step, Sleep):
                await self._sleep(step.seconds)
            elif step is RENEW:
                self._forget_token()
            else:
                outcome = await self._send(op)
            try:
                step = steps.send(outcome)
            except StopIteration as done:
                response: httpx.Response = done.value
                return response

    async def _send(self, op: Operation[Any]) -> httpx.Response | httpx.TransportError:
        bearer = await self._bearer() if op.signed else None
        try:
            return await self._http.request(
                **request_args(op, self.base_url, bearer, self._timeout)
            )
        except httpx.TransportError as exc:
            return exc

    def _forget_token(self) -> None:
        if self._tokens is not None:
            self._tokens.forget()

    async def _bearer(self) -> str | None:
        if self._tokens is None:
            return None
        async with self._token_lock:
            token = self._tokens.current()
            if token is None:
                sign_in, requested_at = self._tokens.sign_in()
                token = self._tokens.keep(await self.run(sign_in), requested_at)
            return token

    async def close(self) -> None:
        if self._owned:
            await self._http.aclose()


class _Client:
    def __init__(
        self,
        base_url: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.session = AsyncSession(
            base_url,
            client_id,
            client_secret,
            http_client=http_client,
            timeout=timeout,
            retry=retry,
            sleep=sleep,
        )

    async def me(self) -> Me:
        """Who the server takes this client to be (role, partner, port and lane)."""
        return await self.session.run(ops.me())

    async def _items(self, page: Callable[[str | None], Operation[Page[T]]]) -> AsyncIterator[T]:
        cursor: str | None = None
        while True:
            answer = await self.session.run(page(cursor))
            for item in answer.items:
                yield item
            if answer.next_cursor is None:
                return
            cursor = answer.next_cursor

    async def close(self) -> None:
        await self.session.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


class AsyncPartnerClient(_Client):
    """A partner app: registers travellers and vehicles, files applications, reads clearances."""

    async def register_traveller(
        self, body: TravellerCreate, *, idempotency_key: str | None = None
    ) -> Traveller:
        return await self.session.run(ops.register_traveller(body, idempotency_key))

    async def get_traveller(self, traveller_id: Id) -> Traveller:
        return await self.session.run(ops.get_traveller(traveller_id))

    def list_travellers(self, *, page_size: int = ops.PAGE_SIZE) -> AsyncIterator[Traveller]:
        return self._items(lambda cursor: ops.travellers_page(cursor, page_size))

    async def update_traveller(self, traveller_id: Id, patch: TravellerPatch) -> TravellerChange:
        return await self.session.run(ops.update_traveller(traveller_id, patch))

    async def erase_traveller(self, traveller_id: Id) -> None:
        await self.session.run(ops.erase_traveller(traveller_id))

    async def register_vehicle(
        self, body: VehicleCreate, *, idempotency_key: str | None = None
    ) -> Vehicle:
        return await self.session.run(ops.register_vehicle(body, idempotency_key))

    async def get_vehicle(self, vehicle_id: Id) -> Vehicle:
        return await self.session.run(ops.get_vehicle(vehicle_id))

    def list_vehicles(self, *, page_size: int = ops.PAGE_SIZE) -> AsyncIterator[Vehicle]:
        return self._items(lambda cursor: ops.vehicles_page(cursor, page_size))

    async def update_vehicle(self, vehicle_id: Id, patch: VehiclePatch) -> Vehicle:
        return await self.session.run(ops.update_vehicle(vehicle_id, patch))

    async def erase_vehicle(self, vehicle_id: Id) -> None:
        await self.session.run(ops.erase_vehicle(vehicle_id))

    async def file_application(
        self, body: ApplicationCreate, *, idempotency_key: str | None = None
    ) -> Application:
        return await self.session.run(ops.file_application(body, idempotency_key))

    async def get_application(self, application_id: Id) -> Application:
        return await self.session.run(ops.get_application(application_id))

    def list_applications(
        self, status: ApplicationStatus | None = None, *, page_size: int = ops.PAGE_SIZE
    ) -> AsyncIterator[Application]:
        return self._items(lambda cursor: ops.applications_page(cursor, status, page_size))

    async def get_clearance(self, clearance_id: Id) -> Clearance:
        return await self.session.run(ops.get_clearance(clearance_id))

    async def clearance_qr(self, clearance_id: Id, image_format: QrFormat = "svg") -> bytes:
        return await self.session.run(ops.clearance_qr(clearance_id, image_format))

    async def revoke_clearance(
        self, clearance_id: Id, reason: str = "withdrawn by the partner"
    ) -> Clearance:
        return await self.session.run(ops.revoke_clearance(clearance_id, reason))

    async def answer_information(self, application_id: Id, body: InformationAnswer) -> Application:
        """Answer a reviewer's request for information: a statement, and corrections to the
        registration; the application goes back to review."""
        return await self.session.run(ops.answer_information(application_id, body))

    async def appeal(self, application_id: Id, grounds: str) -> Application:
        """Appeal a rejection within its appeal window; a different reviewer decides."""
        return await self.session.run(ops.appeal(application_id, grounds))

    async def renew_clearance(self, clearance_id: Id) -> Application:
        """A new application from the clearance's registration, decided by today's rules."""
        return await self.session.run(ops.renew_clearance(clearance_id))

    async def replace_document(
        self, traveller_id: Id, body: DocumentReplacement
    ) -> DocumentReplaced:
        """A new travel document; every active clearance is issued again bound to it."""
        return await self.session.run(ops.replace_document(traveller_id, body))

    async def file_trip(self, body: TripCreate, *, idempotency_key: str | None = None) -> Trip:
        """File a trip; decided at once, and given its token when approved."""
        return await self.session.run(ops.file_trip(body, idempotency_key))

    async def get_trip(self, trip_id: Id) -> Trip:
        return await self.session.run(ops.get_trip(trip_id))

    def list_trips(self, *, page_size: int = ops.PAGE_SIZE) -> AsyncIterator[Trip]:
        return self._items(lambda cursor: ops.trips_page(cursor, page_size))

    async def amend_trip(self, trip_id: Id, body: TripCreate) -> Trip:
        """Replace the whole filing: decided again, the old token revoked, a new one issued
        when approved."""
        return await self.session.run(ops.amend_trip(trip_id, body))

    async def cancel_trip(self, trip_id: Id) -> Trip:
        return await self.session.run(ops.cancel_trip(trip_id))

    async def trip_qr(self, trip_id: Id, image_format: QrFormat = "svg") -> bytes:
        return await self.session.run(ops.trip_qr(trip_id, image_format))


class AsyncLaneClient(_Client):
    """A port lane: verifies clearance tokens and reads what an offline lane needs."""

    async def verify(
        self,
        token: str,
        direction: Literal["entry", "exit"],
        *,
        event_id: uuid.UUID | None = None,
        document: PresentedDocument | None = None,
        mrz: str | None = None,
        plate: str | None = None,
        observed_at: datetime | None = None,
    ) -> VerifyAnswer:
        """Decide a token; ``event_id`` (a UUID) is generated when not given. Sending the same
        event id again returns the first answer and records nothing new."""
        return await self.verify_request(
            ops.question(
                token,
                direction,
                event_id=event_id,
                document=document,
                mrz=mrz,
                plate=plate,
                observed_at=observed_at,
            )
        )

    async def verify_request(self, request: VerifyRequest) -> VerifyAnswer:
        return await self.session.run(ops.verify(request))

    async def verify_trip(
        self,
        token: str,
        direction: Literal["entry", "exit"],
        *,
        plate: str,
        documents: list[ScannedDocument],
        event_id: uuid.UUID | None = None,
        observed_at: datetime | None = None,
    ) -> TripVerifyAnswer:
        """Decide a trip token with the plate and every document scanned in the vehicle (each
        typed or by its MRZ, in any order). The same event id again returns the first answer."""
        return await self.verify_trip_request(
            ops.trip_question(
                token,
                direction,
                plate=plate,
                documents=documents,
                event_id=event_id,
                observed_at=observed_at,
            )
        )

    async def verify_trip_request(self, request: TripVerifyRequest) -> TripVerifyAnswer:
        return await self.session.run(ops.verify_trip(request))

    async def jwks(self) -> dict[str, Any]:
        return await self.session.run(ops.jwks())

    async def revocations(self, since: str = "0") -> RevocationPage:
        return await self.session.run(ops.revocations(since))

    async def status_lists(self) -> StatusListAggregation:
        return await self.session.run(ops.status_lists())

    async def status_list(self, number: int, etag: str | None = None) -> FetchedStatusList:
        """One status list; ``token`` is None when ``etag`` is still current (304)."""
        return await self.session.run(ops.status_list(number, etag))

    async def peers(self) -> LanePeers:
        """The peer agencies whose clearances this lane's agency accepts (federation)."""
        return await self.session.run(ops.peers())


class AsyncAdminClient(_Client):
    """The administration calls that setting up partners, ports and lanes needs, and those of
    a reviewer: decisions, appeals, requests for information, false hits, second-line checks."""

    async def create_partner(self, body: PartnerCreate) -> Partner:
        return await self.session.run(ops.create_partner(body))

    async def create_port(self, body: PortCreate) -> Port:
        return await self.session.run(ops.create_port(body))

    async def create_client(self, body: ClientCreate) -> ClientCreated:
        return await self.session.run(ops.create_client(body))

    async def disable_client(self, client_id: Id) -> Client:
        return await self.session.run(ops.disable_client(client_id))

    async def revoke_clearance(self, clearance_id: Id, reason: str) -> Clearance:
        return await self.session.run(ops.admin_revoke_clearance(clearance_id, reason))

    async def get_application(self, application_id: Id) -> Application:
        return await self.session.run(ops.admin_get_application(application_id))

    def list_reviews(
        self, status: ReviewStatus = "referred", *, page_size: int = ops.PAGE_SIZE
    ) -> AsyncIterator[Application]:
        """Applications waiting for a reviewer: referred (default), appealed, or waiting for
        information."""
        return self._items(lambda cursor: ops.reviews_page(cursor, status, page_size))

    async def decide_application(self, application_id: Id, body: DecisionRequest) -> Application:
        """Decide a referred application, or an appeal (not as the reviewer who rejected it)."""
        return await self.session.run(ops.decide_application(application_id, body))

    async def request_information(
        self, application_id: Id, body: InformationRequestCreate
    ) -> Application:
        return await self.session.run(ops.request_information(application_id, body))

    async def mark_false_hit(self, application_id: Id, body: FalseHitCreate) -> Application:
        return await self.session.run(ops.mark_false_hit(application_id, body))

    async def request_second_line(self, clearance_id: Id, reason: str) -> SecondLine:
        """Refer the clearance's next verification to a second-line check."""
        return await self.session.run(ops.second_line(clearance_id, reason))

    async def suspend_clearance(self, clearance_id: Id, reason: str) -> Clearance:
        return await self.session.run(ops.suspend_clearance(clearance_id, reason))

    async def reinstate_clearance(self, clearance_id: Id) -> Clearance:
        return await self.session.run(ops.reinstate_clearance(clearance_id))
