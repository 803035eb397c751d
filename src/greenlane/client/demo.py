"""``greenlane demo``: a five-minute tour of greenlane against a running server, through the SDK.

Everything it does is an ordinary API call a partner app, a lane or an administrator makes, so
the tour doubles as sample code. It makes its own partner, port (a fresh ``TH???`` code each
run), clients, traveller and truck, and leaves them in place for a look afterwards.
"""

from __future__ import annotations

import io
import secrets
import socket
import string
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

import jwt
import segno
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from greenlane.client import (
    AdminClient,
    ConflictError,
    ConnectionFailedError,
    GreenlaneError,
    LaneClient,
    OfflineVerifier,
    PartnerClient,
    RetryPolicy,
)
from greenlane.wire.applications import Application, ApplicationCreate, IssuedClearance
from greenlane.wire.clearances import Clearance
from greenlane.wire.identity import ClientCreate, PartnerCreate, PortCreate
from greenlane.wire.registration import (
    DocumentIn,
    DrivingLicenceIn,
    EmployerIn,
    Traveller,
    TravellerCreate,
    Vehicle,
    VehicleCreate,
)
from greenlane.wire.trips import CrewMember, ScannedDocument, TripCreate
from greenlane.wire.verify import PresentedDocument, VerifyAnswer

DEFAULT_URL = "http://127.0.0.1:8000"
LANE_CODE = "DEMO1"
REVOCATION_WAIT = 5.0  # seconds for a revocation to reach every worker
_COLOURS = {"green": "bold green", "refer": "bold yellow", "deny": "bold red"}
Credentials = tuple[str, str]


def run(
    url: str,
    credentials: Credentials | None,
    *,
    issuer: str,
    console: Console | None = None,
) -> int:
    """The whole tour; 0 when every step behaved as the contract says."""
    out = console or Console(highlight=False)
    if credentials is None:
        out.print(
            "[red]greenlane demo needs an admin client: pass --client-id=ID --client-secret=SECRET "
            "(or set GREENLANE_DEMO_CLIENT_ID and GREENLANE_DEMO_CLIENT_SECRET). "
            "Make one with: greenlane clients create --role admin --name demo"
        )
        return 2
    try:
        with AdminClient(url, *credentials) as admin:
            Tour(out, url, issuer, admin).run()
    except ConnectionFailedError as exc:
        out.print(
            f"[red]No greenlane server answers at {url} ({exc.detail}). Start it with "
            "`make run`, or pass --url."
        )
        return 1
    except (GreenlaneError, TourFailed) as exc:
        out.print(f"[red]The tour stopped: {exc}")
        return 1
    return 0


class TourFailed(Exception):
    """A step's answer was not what the contract promises."""


@dataclass
class Setup:
    port: str
    partner: PartnerClient
    lane: LaneClient
    lane_credentials: Credentials


class Tour:
    def __init__(self, out: Console, url: str, issuer: str, admin: AdminClient) -> None:
        self.out = out
        self.url = url
        self.issuer = issuer
        self.admin = admin
        self.number = 0
        self.document_number = ""  # the passport as the lane's reader sees it, unmasked

    def step(self, title: str) -> None:
        self.number += 1
        self.out.print()
        self.out.rule(f"[bold]{self.number}. {title}", align="left")

    def say(self, text: str) -> None:
        self.out.print(f"  {text}")

    def decision(self, answer: VerifyAnswer) -> None:
        colour = _COLOURS[answer.decision]
        reasons = ", ".join(reason.code for reason in answer.reasons) or "no reasons"
        self.say(f"decision [{colour}]{answer.decision.upper()}[/] ({reasons}), mode {answer.mode}")
        if answer.holder is not None:
            holder = answer.holder
            names = " ".join(part for part in (holder.given_names, holder.surname) if part)
            self.say(
                f"holder: {names or '(name not in the token)'}, {holder.nationality}, "
                f"{holder.category}"
            )
        if answer.vehicle is not None:
            self.say(f"vehicle: {answer.vehicle.plate} ({answer.vehicle.kind})")
        if answer.crossing_id is not None:
            self.say(f"crossing recorded: {answer.crossing_id}")

    @staticmethod
    def expect(answer: VerifyAnswer, decision: str, *codes: str) -> None:
        found = tuple(reason.code for reason in answer.reasons)
        if answer.decision != decision or found != codes:
            raise TourFailed(f"expected {decision} {list(codes)}, got {answer.decision} {found}")

    def run(self) -> None:
        self.out.print(
            Panel.fit(
                f"A tour of greenlane at [bold]{self.url}[/]: a partner registers a truck "
                "driver, the driver gets a clearance, and a lane decides it, online and with "
                "its link cut.",
                title="greenlane demo",
            )
        )
        setup = self.set_up()
        with setup.partner, setup.lane:
            traveller, vehicle = self.register(setup.partner)
            clearance = self.file(setup, traveller, vehicle)
            self.show_qr(setup.partner, clearance)
            scanned = PresentedDocument(
                number=self.document_number, issuing_state=traveller.document.issuing_state
            )
            self.verify_online(setup.lane, clearance, scanned, vehicle.plate)
            self.trip(setup, traveller, vehicle, scanned)
            self.revoke(setup.lane, clearance, scanned, vehicle.plate)
            self.offline(setup, traveller, vehicle, scanned, revoked=clearance)
        self.out.print()
        self.out.print(
            Panel.fit(
                "Done. In docs/sdk.md, [bold]For partner apps[/] and [bold]For lane vendors[/] "
                "show the same calls as code.",
                border_style="green",
            )
        )

    # --- the steps ------------------------------------------------------------------------

    def set_up(self) -> Setup:
        self.step("An administrator sets up a partner, a port and their API clients")
        me = self.admin.me()
        self.say(f"signed in as admin client {me.client_id}")
        partner = self.admin.create_partner(
            PartnerCreate(
                name=f"Demo Freight {secrets.token_hex(2)}",
                country="THA",
                contact_email="ops@demo-freight.example",
            )
        )
        self.say(f"partner [bold]{partner.name}[/] ({partner.id})")
        port = self.new_port()
        self.say(f"port [bold]{port}[/], handling passengers, vehicles and cargo")
        partner_app = self.admin.create_client(
            ClientCreate(role="partner", name="demo partner app", partner_id=partner.id)
        )
        lane_app = self.admin.create_client(
            ClientCreate(role="lane", name="demo lane", port_code=port, lane_code=LANE_CODE)
        )
        self.say(
            f"partner client {partner_app.client_id} and lane client "
            f"{lane_app.client_id} (lane {LANE_CODE}); their secrets are shown only once"
        )
        lane_credentials = (str(lane_app.client_id), lane_app.client_secret)
        return Setup(
            port=port,
            partner=PartnerClient(self.url, str(partner_app.client_id), partner_app.client_secret),
            lane=LaneClient(self.url, *lane_credentials),
            lane_credentials=lane_credentials,
        )

    def new_port(self) -> str:
        for _ in range(10):
            code = "TH" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(3))
            try:
                self.admin.create_port(
                    PortCreate(
                        code=code,
                        name=f"Demo checkpoint {code}",
                        country="THA",
                        kinds=["passenger", "vehicle", "cargo"],
                    )
                )
            except ConflictError:
                continue  # an earlier run took this code
            return code
        raise TourFailed("no free port code after 10 tries")

    def register(self, partner: PartnerClient) -> tuple[Traveller, Vehicle]:
        self.step("The partner registers a commercial driver and a truck")
        today = date.today()
        self.document_number = _passport_number()
        traveller = partner.register_traveller(
            _commercial_driver("Somchai", "Jaidee", self.document_number)
        )
        self.say(
            f"traveller {traveller.id}: {traveller.given_names} {traveller.surname}, "
            f"passport {traveller.document.number} (the API masks all but 3 characters)"
        )
        vehicle = partner.register_vehicle(
            VehicleCreate(
                plate=f"{secrets.randbelow(90) + 10}-{secrets.randbelow(10000):04d}",
                registration_country="THA",
                vin="1M8GDM9AXKP042788",
                kind="truck",
                make="Hino",
                insurance_expiry=today + timedelta(days=365),
            )
        )
        self.say(f"vehicle {vehicle.id}: {vehicle.make} {vehicle.kind}, plate {vehicle.plate}")
        return traveller, vehicle

    @staticmethod
    def approved(
        setup: Setup,
        traveller: Traveller,
        vehicle: Vehicle,
        *,
        entries: Literal["single", "multiple"],
        purpose: str,
    ) -> tuple[Application, IssuedClearance]:
        """A week's application through the demo port and its clearance; the tour stops unless
        it is approved."""
        filed = setup.partner.file_application(
            ApplicationCreate(
                traveller_id=traveller.id,
                vehicle_id=vehicle.id,
                ports=[setup.port],
                valid_from=date.today(),
                valid_until=date.today() + timedelta(days=7),
                entries=entries,
                purpose=purpose,
            )
        )
        if filed.clearance is None:
            raise TourFailed(f"the {entries}-entry application was {filed.status}, not approved")
        return filed, filed.clearance

    def file(self, setup: Setup, traveller: Traveller, vehicle: Vehicle) -> Clearance:
        self.step("The partner files an application; the rules approve it at once")
        filed, issued = self.approved(
            setup,
            traveller,
            vehicle,
            entries="multiple",
            purpose="Deliveries to the demo checkpoint",
        )
        self.say(f"application {filed.id}: [bold]{filed.status}[/]")
        for reason in filed.reasons:
            self.say(f"  {reason.effect} {reason.reason_code}: {reason.message}")
        clearance = setup.partner.get_clearance(issued.id)
        self.say(
            f"clearance {clearance.id}, {clearance.status} until "
            f"{clearance.expires_at:%Y-%m-%d %H:%M} UTC, a {len(clearance.token)}-character "
            "ES256 token"
        )
        token_issuer = jwt.decode(clearance.token, options={"verify_signature": False})["iss"]
        if token_issuer != self.issuer:
            self.say(
                f"[yellow]note: the server signs as {token_issuer}, not {self.issuer}; "
                "offline checks will use the server's (pass --issuer to choose)"
            )
            self.issuer = token_issuer
        return clearance

    def show_qr(self, partner: PartnerClient, clearance: Clearance) -> None:
        self.step("The driver's phone shows the clearance as a QR code")
        svg = partner.clearance_qr(clearance.id)
        self.say(
            f"GET /v1/clearances/{clearance.id}/qr served {len(svg)} bytes of SVG; "
            "the same token, drawn here:"
        )
        drawing = io.StringIO()
        symbol = segno.make_qr(clearance.token, error="m", boost_error=False)
        symbol.terminal(out=drawing, border=2, compact=True)  # Unicode half blocks: no colour codes
        self.out.print(drawing.getvalue(), markup=False, highlight=False, soft_wrap=True)

    def verify_online(
        self, lane: LaneClient, clearance: Clearance, scanned: PresentedDocument, plate: str
    ) -> None:
        self.step("The lane scans the QR code, the passport and the plate")
        event = uuid.uuid4()
        first = lane.verify(clearance.token, "entry", event_id=event, document=scanned, plate=plate)
        self.decision(first)
        self.expect(first, "green")

        self.step("The lane's network hiccups and it sends the same event again")
        again = lane.verify(clearance.token, "entry", event_id=event, document=scanned, plate=plate)
        self.decision(again)
        if again != first:
            raise TourFailed("a repeated event got a different answer")
        self.say("the same answer and the same crossing: nothing new was recorded")

        self.step("Someone presents the clearance with another passport")
        wrong = PresentedDocument(number="X9876543", issuing_state=scanned.issuing_state)
        denied = lane.verify(clearance.token, "entry", document=wrong, plate=plate)
        self.decision(denied)
        self.expect(denied, "deny", "document_mismatch")
        self.say("a deny names its codes and nothing about the person")

    def trip(
        self, setup: Setup, driver: Traveller, vehicle: Vehicle, scanned: PresentedDocument
    ) -> None:
        self.step("A co-driver joins: the partner registers her and she is cleared too")
        passport = _passport_number()
        co_driver = setup.partner.register_traveller(
            _commercial_driver("Malee", "Srisuk", passport)
        )
        filed = setup.partner.file_application(
            ApplicationCreate(
                traveller_id=co_driver.id,
                ports=[setup.port],
                valid_from=date.today(),
                valid_until=date.today() + timedelta(days=7),
                entries="multiple",
                purpose="Co-driving deliveries to the demo checkpoint",
            )
        )
        self.say(f"co-driver {co_driver.id}: application [bold]{filed.status}[/]")
        if filed.clearance is None:
            raise TourFailed(f"the co-driver's application was {filed.status}, not approved")

        self.step("The partner files a trip: the truck, its driver and co-driver, one token")
        trip = setup.partner.file_trip(
            TripCreate(
                vehicle_id=vehicle.id,
                port_code=setup.port,
                direction="entry",
                expected_at=datetime.now(UTC) + timedelta(hours=2),
                crew=[CrewMember(driver.id, "driver"), CrewMember(co_driver.id, "co_driver")],
                cargo_reference="DEMO-MANIFEST-1",
            )
        )
        if trip.token is None:
            raise TourFailed(f"the trip was {trip.status}, not approved")
        self.say(
            f"trip {trip.id}: [bold]{trip.status}[/], a {len(trip.token)}-character "
            f"gl-trip+jwt token valid {trip.not_before:%H:%M} to {trip.expires_at:%H:%M} UTC"
        )

        self.step("The lane scans the trip's QR code, the plate and both passports")
        answer = setup.lane.verify_trip(
            trip.token,
            "entry",
            plate=vehicle.plate,
            documents=[
                ScannedDocument(number=passport, issuing_state="THA"),
                ScannedDocument(number=scanned.number, issuing_state=scanned.issuing_state),
            ],
        )
        colour = _COLOURS[answer.decision]
        self.say(f"decision [{colour}]{answer.decision.upper()}[/], mode {answer.mode}")
        for member in answer.members:
            holder = member.holder
            name = f"{holder.given_names} {holder.surname}" if holder is not None else "?"
            self.say(f"  {member.role}: {name}, {member.decision}, crossing {member.crossing_id}")
        if answer.vehicle is not None:
            self.say(f"  vehicle {answer.vehicle.plate}: crossing {answer.crossing_id}")
        if answer.decision != "green":
            raise TourFailed(f"expected the trip green, got {answer.decision}")
        self.say("one scan, one signature: the truck and both drivers crossed together")

    def revoke(
        self, lane: LaneClient, clearance: Clearance, scanned: PresentedDocument, plate: str
    ) -> None:
        self.step("An administrator revokes the clearance (say, the phone was stolen)")
        revoked = self.admin.revoke_clearance(clearance.id, "demo: the phone was reported stolen")
        self.say(f"clearance {revoked.id} is now [bold]{revoked.status}[/]")
        answer = self.poll(
            lambda: lane.verify(clearance.token, "exit", document=scanned, plate=plate),
            lambda answer: answer.decision == "deny",
        )
        self.decision(answer)
        self.expect(answer, "deny", "token_revoked")

    def poll(
        self, ask: Callable[[], VerifyAnswer], done: Callable[[VerifyAnswer], bool]
    ) -> VerifyAnswer:
        """Every worker hears of a revocation within moments; ask until this one has."""
        deadline = time.monotonic() + REVOCATION_WAIT
        while True:
            answer = ask()
            if done(answer) or time.monotonic() > deadline:
                return answer
            time.sleep(0.2)

    def offline(
        self,
        setup: Setup,
        traveller: Traveller,
        vehicle: Vehicle,
        scanned: PresentedDocument,
        revoked: Clearance,
    ) -> None:
        self.step("The partner files a new application and gets a second clearance")
        filed, second = self.approved(
            setup, traveller, vehicle, entries="single", purpose="A single return trip"
        )
        self.say(f"clearance {second.id} (single entry), {filed.status}")

        with tempfile.TemporaryDirectory(prefix="greenlane-demo-") as folder:
            verifier = OfflineVerifier(
                setup.lane,
                port=setup.port,
                issuer=self.issuer,
                state_path=Path(folder) / "lane-state.json",
            )
            self.step("The lane caches the signing keys and the revocation list")
            verifier.refresh()
            self.say(
                f"{verifier.key_count} signing key(s) and {verifier.revoked_count} "
                f"revocation(s), saved to {Path(folder).name}/lane-state.json"
            )

            self.step("The lane's link to the centre is cut")
            with LaneClient(
                f"http://127.0.0.1:{_closed_port()}",
                *setup.lane_credentials,
                retry=RetryPolicy(attempts=1),
            ) as cut_link:
                verifier.lane = cut_link
                try:
                    verifier.refresh()
                except ConnectionFailedError:
                    self.say(
                        "refreshing fails: [red]no route to the server[/]; the lane carries on "
                        f"from its cache, {_age(verifier)} old"
                    )
                else:
                    raise TourFailed("the cut link still answered")
            green = verifier.verify(second.token, "entry", document=scanned, plate=vehicle.plate)
            self.say("the second clearance, checked on the lane alone:")
            self.decision(green)
            self.expect(green, "green")
            refused = verifier.verify(revoked.token, "entry", document=scanned, plate=vehicle.plate)
            self.say("the revoked clearance, checked against the cached revocation list:")
            self.decision(refused)
            self.expect(refused, "deny", "token_revoked")
            hours = verifier.max_age.total_seconds() / 3600
            self.say(
                f"{verifier.pending()} decisions wait in the lane's spool (fsynced); after "
                f"{hours:g} hours without fresh data every answer would be "
                "refer lane_data_stale"
            )

            self.step("The link is back: the lane sends its spool to the server")
            verifier.lane = setup.lane
            report = verifier.sync()
            table = Table("event", "lane decided", "server recorded")
            for synced in report.recorded:
                table.add_row(
                    str(synced.event_id)[:8] + "…", synced.local.decision, synced.central.decision
                )
            self.out.print(table)
            if report.disagreements or verifier.pending():
                raise TourFailed("the server disagreed with the lane, or the spool did not drain")
            crossings = setup.partner.get_clearance(second.id).crossings
            for crossing in crossings:
                self.say(
                    f"clearance {second.id} now lists crossing {crossing.id}: "
                    f"{crossing.direction} at {crossing.port_code}/{crossing.lane_code}, "
                    f"{crossing.crossed_at:%H:%M:%S} UTC (when the lane decided)"
                )
            if len(crossings) != 1:
                raise TourFailed("the offline crossing is not on the central record")
            again = verifier.sync()
            self.say(f"syncing again sends {len(again.recorded)}: nothing is recorded twice")


def _passport_number() -> str:
    return "D" + "".join(secrets.choice(string.digits) for _ in range(7))


def _commercial_driver(given_names: str, surname: str, passport: str) -> TravellerCreate:
    today = date.today()
    return TravellerCreate(
        given_names=given_names,
        surname=surname,
        date_of_birth=date(1985, 3, 14),
        sex="M",
        nationality="THA",
        document=DocumentIn(
            type="P",
            number=passport,
            issuing_state="THA",
            expiry_date=today + timedelta(days=5 * 365),
        ),
        category="commercial_driver",
        employer=EmployerIn(name="Demo Freight", country="THA"),
        driving_licence=DrivingLicenceIn(
            number="DL" + secrets.token_hex(4).upper(),
            issuing_state="THA",
            classes=["C", "CE"],
            expiry_date=today + timedelta(days=3 * 365),
        ),
    )


def _age(verifier: OfflineVerifier) -> str:
    age = verifier.data_age()
    return "unknown" if age is None else f"{age.total_seconds():.1f} s"


def _closed_port() -> int:
    """A local port nothing listens on: connections to it are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
