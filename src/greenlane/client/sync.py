"""Blocking clients: ``PartnerClient``, ``LaneClient`` and ``AdminClient`` on ``httpx.Client``.

Each method builds its call in ``operations`` and runs it through :class:`Session`, which drives
the shared retry plan; the async twins in ``aio`` do the same with ``await``. A client may be
shared between threads: the access token is renewed under a lock.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
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


class Session:
    """One base URL and one set of client credentials over an ``httpx.Client``.

    Pass ``http_client`` to bring your own (proxies, TLS settings, or a test transport); a
    client passed in is not closed by :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str | None,
        client_secret: str | None,
        *,
        http_client: httpx.Client | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._owned = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._tokens = TokenCache.for_credentials(client_id, client_secret)
        self._token_lock = threading.Lock()

    def run(self, op: Operation[T]) -> T:
        return finish(op, self._exchange(op))

    def _exchange(self, op: Operation[Any]) -> httpx.Response:
        steps = plan(op, self._retry, renewable=self._tokens is not None)
        step = next(steps)
        while True:
            outcome: Outcome = None
            if isinstance(step, Sleep):
                self._sleep(step.seconds)
            elif step is RENEW:
                self._forget_token()
            else:
                outcome = self._send(op)
            try:
                step = steps.send(outcome)
            except StopIteration as done:
                response: httpx.Response = done.value
                return response

    def _send(self, op: Operation[Any]) -> httpx.Response | httpx.TransportError:
        bearer = self._bearer() if op.signed else None
        try:
            return self._http.request(**request_args(op, self.base_url, bearer, self._timeout))
        except httpx.TransportError as exc:
            return exc

    def _forget_token(self) -> None:
        if self._tokens is not None:
            self._tokens.forget()

    def _bearer(self) -> str | None:
        if self._tokens is None:
            return None
        with self._token_lock:
            token = self._tokens.current()
            if token is None:
                sign_in, requested_at = self._tokens.sign_in()
                token = self._tokens.keep(self.run(sign_in), requested_at)
            return token

    def close(self) -> None:
        if self._owned:
            self._http.close()


class _Client:
    def __init__(
        self,
        base_url: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        http_client: httpx.Client | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.session = Session(
            base_url,
            client_id,
            client_secret,
            http_client=http_client,
            timeout=timeout,
            retry=retry,
            sleep=sleep,
        )

    def me(self) -> Me:
        """Who the server takes this client to be (role, partner, port and lane)."""
        return self.session.run(ops.me())

    def _items(self, page: Callable[[str | None], Operation[Page[T]]]) -> Iterator[T]:
        cursor: str | None = None
        while True:
            answer = self.session.run(page(cursor))
            yield from answer.items
            if answer.next_cursor is None:
                return
            cursor = answer.next_cursor

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class PartnerClient(_Client):
    """A partner app: registers travellers and vehicles, files applications, reads clearances."""

    def register_traveller(
        self, body: TravellerCreate, *, idempotency_key: str | None = None
    ) -> Traveller:
        return self.session.run(ops.register_traveller(body, idempotency_key))

    def get_traveller(self, traveller_id: Id) -> Traveller:
        return self.session.run(ops.get_traveller(traveller_id))

    def list_travellers(self, *, page_size: int = ops.PAGE_SIZE) -> Iterator[Traveller]:
        return self._items(lambda cursor: ops.travellers_page(cursor, page_size))

    def update_traveller(self, traveller_id: Id, patch: TravellerPatch) -> TravellerChange:
        return self.session.run(ops.update_traveller(traveller_id, patch))

    def erase_traveller(self, traveller_id: Id) -> None:
        self.session.run(ops.erase_traveller(traveller_id))

    def register_vehicle(
        self, body: VehicleCreate, *, idempotency_key: str | None = None
    ) -> Vehicle:
        return self.session.run(ops.register_vehicle(body, idempotency_key))

    def get_vehicle(self, vehicle_id: Id) -> Vehicle:
        return self.session.run(ops.get_vehicle(vehicle_id))

    def list_vehicles(self, *, page_size: int = ops.PAGE_SIZE) -> Iterator[Vehicle]:
        return self._items(lambda cursor: ops.vehicles_page(cursor, page_size))

    def update_vehicle(self, vehicle_id: Id, patch: VehiclePatch) -> Vehicle:
        return self.session.run(ops.update_vehicle(vehicle_id, patch))

    def erase_vehicle(self, vehicle_id: Id) -> None:
        self.session.run(ops.erase_vehicle(vehicle_id))

    def file_application(
        self, body: ApplicationCreate, *, idempotency_key: str | None = None
    ) -> Application:
        return self.session.run(ops.file_application(body, idempotency_key))

    def get_application(self, application_id: Id) -> Application:
        return self.session.run(ops.get_application(application_id))

    def list_applications(
        self, status: ApplicationStatus | None = None, *, page_size: int = ops.PAGE_SIZE
    ) -> Iterator[Application]:
        return self._items(lambda cursor: ops.applications_page(cursor, status, page_size))

    def get_clearance(self, clearance_id: Id) -> Clearance:
        return self.session.run(ops.get_clearance(clearance_id))

    def clearance_qr(self, clearance_id: Id, image_format: QrFormat = "svg") -> bytes:
        return self.session.run(ops.clearance_qr(clearance_id, image_format))

    def revoke_clearance(
        self, clearance_id: Id, reason: str = "withdrawn by the partner"
    ) -> Clearance:
        return self.session.run(ops.revoke_clearance(clearance_id, reason))

    def answer_information(self, application_id: Id, body: InformationAnswer) -> Application:
        """Answer a reviewer's request for information: a statement, and corrections to the
        registration; the application goes back to review."""
        return self.session.run(ops.answer_information(application_id, body))

    def appeal(self, application_id: Id, grounds: str) -> Application:
        """Appeal a rejection within its appeal window; a different reviewer decides."""
        return self.session.run(ops.appeal(application_id, grounds))

    def renew_clearance(self, clearance_id: Id) -> Application:
        """A new application from the clearance's registration, decided by today's rules."""
        return self.session.run(ops.renew_clearance(clearance_id))

    def replace_document(self, traveller_id: Id, body: DocumentReplacement) -> DocumentReplaced:
        """A new travel document; every active clearance is issued again bound to it."""
        return self.session.run(ops.replace_document(traveller_id, body))

    def file_trip(self, body: TripCreate, *, idempotency_key: str | None = None) -> Trip:
        """File a trip; decided at once, and given its token when approved."""
        return self.session.run(ops.file_trip(body, idempotency_key))

    def get_trip(self, trip_id: Id) -> Trip:
        return self.session.run(ops.get_trip(trip_id))

    def list_trips(self, *, page_size: int = ops.PAGE_SIZE) -> Iterator[Trip]:
        return self._items(lambda cursor: ops.trips_page(cursor, page_size))

    def amend_trip(self, trip_id: Id, body: TripCreate) -> Trip:
        """Replace the whole filing: decided again, the old token revoked, a new one issued
        when approved."""
        return self.session.run(ops.amend_trip(trip_id, body))

    def cancel_trip(self, trip_id: Id) -> Trip:
        return self.session.run(ops.cancel_trip(trip_id))

    def trip_qr(self, trip_id: Id, image_format: QrFormat = "svg") -> bytes:
        return self.session.run(ops.trip_qr(trip_id, image_format))


class LaneClient(_Client):
    """A port lane: verifies clearance tokens and reads what an offline lane needs."""

    def verify(
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
        return self.verify_request(
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

    def verify_request(self, request: VerifyRequest) -> VerifyAnswer:
        return self.session.run(ops.verify(request))

    def verify_trip(
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
        return self.verify_trip_request(
            ops.trip_question(
                token,
                direction,
                plate=plate,
                documents=documents,
                event_id=event_id,
                observed_at=observed_at,
            )
        )

    def verify_trip_request(self, request: TripVerifyRequest) -> TripVerifyAnswer:
        return self.session.run(ops.verify_trip(request))

    def jwks(self) -> dict[str, Any]:
        return self.session.run(ops.jwks())

    def revocations(self, since: str = "0") -> RevocationPage:
        return self.session.run(ops.revocations(since))

    def status_lists(self) -> StatusListAggregation:
        return self.session.run(ops.status_lists())

    def status_list(self, number: int, etag: str | None = None) -> FetchedStatusList:
        """One status list; ``token`` is None when ``etag`` is still current (304)."""
        return self.session.run(ops.status_list(number, etag))

    def peers(self) -> LanePeers:
        """The peer agencies whose clearances this lane's agency accepts (federation)."""
        return self.session.run(ops.peers())


class AdminClient(_Client):
    """The administration calls that setting up partners, ports and lanes needs, and those of
    a reviewer: decisions, appeals, requests for information, false hits, second-line checks."""

    def create_partner(self, body: PartnerCreate) -> Partner:
        return self.session.run(ops.create_partner(body))

    def create_port(self, body: PortCreate) -> Port:
        return self.session.run(ops.create_port(body))

    def create_client(self, body: ClientCreate) -> ClientCreated:
        return self.session.run(ops.create_client(body))

    def disable_client(self, client_id: Id) -> Client:
        return self.session.run(ops.disable_client(client_id))

    def revoke_clearance(self, clearance_id: Id, reason: str) -> Clearance:
        return self.session.run(ops.admin_revoke_clearance(clearance_id, reason))

    def get_application(self, application_id: Id) -> Application:
        return self.session.run(ops.admin_get_application(application_id))

    def list_reviews(
        self, status: ReviewStatus = "referred", *, page_size: int = ops.PAGE_SIZE
    ) -> Iterator[Application]:
        """Applications waiting for a reviewer: referred (default), appealed, or waiting for
        information."""
        return self._items(lambda cursor: ops.reviews_page(cursor, status, page_size))

    def decide_application(self, application_id: Id, body: DecisionRequest) -> Application:
        """Decide a referred application, or an appeal (not as the reviewer who rejected it)."""
        return self.session.run(ops.decide_application(application_id, body))

    def request_information(
        self, application_id: Id, body: InformationRequestCreate
    ) -> Application:
        return self.session.run(ops.request_information(application_id, body))

    def mark_false_hit(self, application_id: Id, body: FalseHitCreate) -> Application:
        return self.session.run(ops.mark_false_hit(application_id, body))

    def request_second_line(self, clearance_id: Id, reason: str) -> SecondLine:
        """Refer the clearance's next verification to a second-line check."""
        return self.session.run(ops.second_line(clearance_id, reason))

    def suspend_clearance(self, clearance_id: Id, reason: str) -> Clearance:
        return self.session.run(ops.suspend_clearance(clearance_id, reason))

    def reinstate_clearance(self, clearance_id: Id) -> Clearance:
        return self.session.run(ops.reinstate_clearance(clearance_id))
