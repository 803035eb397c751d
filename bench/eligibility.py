"""How many applications one worker evaluates per second against the default rule set.

Each evaluation is ``services.applications.dry_run``, which runs ``services.eligibility.assess``,
the very function a filing runs, with all of its database round trips (a transaction, the
traveller, the vehicle, the ports); a filing adds only the insert and, on approval, the
clearance. The calls are awaited one after another in one event loop, so the figure is one
worker's, with PostgreSQL on the same machine. For comparison, the script also times the pure
in-memory part: the facts and CEL context of one application and ``evaluate()`` over the rules.

    PYTHONPATH=. python bench/eligibility.py [--travellers N] [--runs R] [--evaluations E]

The database is a fresh one, dropped at the end, on the embedded server under ``.greenlane/``,
or on ``GREENLANE_BENCH_DATABASE_URL`` (a server's maintenance database) when that is set. The
table printed at the end also goes to ``docs/figures/bench-eligibility.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec
from bench import figures

from greenlane.app import create_app
from greenlane.db import travellers as travellers_db
from greenlane.db import vehicles as vehicles_db
from greenlane.domain.countries import RCEP_MEMBERS_SORTED
from greenlane.domain.rules import ApplicationFacts, build_context, evaluate
from greenlane.migrate import upgrade
from greenlane.runtime import Runtime
from greenlane.services import identity
from greenlane.services.applications import Deciding, dry_run
from greenlane.services.context import Caller, Protection
from greenlane.services.eligibility import port_kinds, traveller_facts, vehicle_facts
from greenlane.services.travellers import register_traveller
from greenlane.services.vehicles import register_vehicle
from greenlane.settings import PREFIX, SECRET_NAMES, load_settings, new_key_text
from greenlane.wire.applications import ApplicationCreate, DryRunRequest
from greenlane.wire.identity import PartnerCreate, PortCreate
from greenlane.wire.registration import TravellerCreate, VehicleCreate

ROOT = Path(__file__).resolve().parents[1]
ACTOR = "bench"
VEHICLE_PORT, PASSENGER_PORT = "THBKK", "THDMK"
CATEGORIES = (
    "business_visitor",
    "installer_servicer",
    "intra_corporate_transferee",
    "contractual_service_supplier",
    "investor",
    "accompanying_family",
)
# Every tenth traveller is from outside RCEP, so that rejections are part of the mix.
NATIONALITIES = (*RCEP_MEMBERS_SORTED, "DEU", "USA")


# --- a database of its own ----------------------------------------------------------------------


async def _maintenance(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, migrated database, dropped (and the embedded server released) afterwards."""
    server = None
    server_url = os.environ.get("GREENLANE_BENCH_DATABASE_URL")
    if not server_url:
        from greenlane.embedded_db import EmbeddedPostgres

        server = EmbeddedPostgres(ROOT / ".greenlane")
        server_url = server.url("postgres")
    name = f"greenlane_bench_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_maintenance(server_url, f'CREATE DATABASE "{name}"'))
        try:
            url = urlunsplit(urlsplit(server_url)._replace(path="/" + name))
            upgrade(url)
            yield url
        finally:
            asyncio.run(_maintenance(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        if server is not None:
            server.stop()


def environment(database_url: str) -> dict[str, str]:
    env = {PREFIX + name: new_key_text() for name in SECRET_NAMES}
    env[PREFIX + "DATA_KEYS"] = "1:" + env[PREFIX + "DATA_KEYS"]
    env[PREFIX + "DATABASE_URL"] = database_url
    env[PREFIX + "LOG_LEVEL"] = "WARNING"
    return env


# --- the workload -------------------------------------------------------------------------------


def traveller_body(i: int, today: date) -> dict[str, object]:
    body: dict[str, object] = {
        "given_names": "Somchai",
        "surname": "Jaidee",
        "date_of_birth": "1985-03-14",
        "sex": "M",
        "nationality": NATIONALITIES[i % len(NATIONALITIES)],
        "document": {
            "type": "P",
            "number": f"B{i:08d}",
            "issuing_state": "THA",
            # Every seventh passport expires too soon after the trip.
            "expiry_date": today + timedelta(days=120 if i % 7 == 0 else 3 * 365),
        },
        "category": CATEGORIES[i % len(CATEGORIES)],
        "employer": {"name": "Siam Cement Trading", "country": "THA"},
    }
    if i % 4 == 0:
        body["category"] = "commercial_driver"
        body["driving_licence"] = {
            "number": f"DL{i:08d}",
            "issuing_state": "THA",
            "classes": ["C", "CE"],
            "expiry_date": today + timedelta(days=2 * 365),
        }
    return body


def vehicle_body(i: int, today: date) -> dict[str, object]:
    return {
        "plate": f"70-{i:05d}",
        "registration_country": "THA",
        "vin": "1M8GDM9AXKP042788",
        "kind": "truck",
        "insurance_expiry": today + timedelta(days=365),
    }


async def register(runtime: Runtime, travellers: int) -> list[DryRunRequest]:
    """One partner's travellers (every fourth a driver with a truck), and an application each."""
    db, today = runtime.db, datetime.now(UTC).date()
    partner = await identity.create_partner(
        db, PartnerCreate("Bench Logistics", "THA", "ops@bench.example"), actor=ACTOR
    )
    await identity.create_port(
        db, PortCreate(VEHICLE_PORT, "Bangkok", "THA", ["passenger", "vehicle"]), actor=ACTOR
    )
    await identity.create_port(
        db, PortCreate(PASSENGER_PORT, "Don Mueang", "THA", ["passenger"]), actor=ACTOR
    )
    caller = Caller(partner.id, ACTOR)
    protection = Protection(runtime.cipher, runtime.index)
    requests = []
    for i in range(travellers):
        data = msgspec.convert(traveller_body(i, today), TravellerCreate)
        traveller, _ = await register_traveller(db, protection, caller, data, None)
        vehicle_id = None
        if i % 4 == 0:
            car = msgspec.convert(vehicle_body(i, today), VehicleCreate)
            vehicle, _ = await register_vehicle(db, protection, caller, car, None)
            vehicle_id = vehicle.id
        application = ApplicationCreate(
            traveller_id=traveller.id,
            vehicle_id=vehicle_id,
            ports=[VEHICLE_PORT, PASSENGER_PORT] if i % 9 == 0 else [VEHICLE_PORT],
            valid_from=today + timedelta(days=1),
            valid_until=today + timedelta(days=1 + i % 45),
            entries="multiple" if i % 2 else "single",
            purpose="Meetings with suppliers",
        )
        requests.append(DryRunRequest(application=application))
    return requests


# --- measuring ----------------------------------------------------------------------------------


async def evaluations_per_second(
    d: Deciding, requests: list[DryRunRequest], runs: int, evaluations: int
) -> tuple[list[float], Counter[str]]:
    statuses: Counter[str] = Counter()
    for request in requests:  # warms the pool, the caches and the code paths
        statuses[(await dry_run(d, request)).status] += 1
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        for i in range(evaluations):
            await dry_run(d, requests[i % len(requests)])
        rates.append(evaluations / (time.perf_counter() - started))
    return rates, statuses


async def in_memory_cost(
    runtime: Runtime, requests: list[DryRunRequest], repeats: int
) -> tuple[float, float]:
    """Microseconds per application: facts + context + evaluate(), and evaluate() alone."""
    now = datetime.now(UTC)
    rules = runtime.rules.active(now)
    loaded = []
    async with runtime.db.connection() as conn:
        for request in requests:
            data = request.application
            assert data is not None
            traveller = await travellers_db.TABLE.get_any(conn, data.traveller_id)
            assert traveller is not None
            vehicle = None
            if data.vehicle_id is not None:
                vehicle = await vehicles_db.TABLE.get_any(conn, data.vehicle_id)
            loaded.append((data, traveller, vehicle, await port_kinds(conn, data.ports)))

    def facts_and_context(index: int) -> tuple[dict[str, object], str, list[str]]:
        data, traveller, vehicle, kinds = loaded[index]
        facts = traveller_facts(traveller, runtime.cipher)
        context = build_context(
            traveller=facts,
            vehicle=vehicle_facts(vehicle),
            application=ApplicationFacts(
                tuple(data.ports), data.valid_from, data.valid_until, data.entries, data.purpose
            ),
            today=now.date(),
            port_kinds=kinds,
        )
        return context, facts.category, data.ports

    contexts = [facts_and_context(i) for i in range(len(loaded))]
    total = repeats * len(loaded)

    started = time.perf_counter()
    for _ in range(repeats):
        for i in range(len(loaded)):
            context, category, ports = facts_and_context(i)
            evaluate(rules, context, category=category, ports=ports)
    whole = (time.perf_counter() - started) / total * 1e6

    started = time.perf_counter()
    for _ in range(repeats):
        for context, category, ports in contexts:
            evaluate(rules, context, category=category, ports=ports)
    alone = (time.perf_counter() - started) / total * 1e6
    return whole, alone


async def measure(database_url: str, args: argparse.Namespace) -> None:
    app = create_app(load_settings(environment(database_url)))
    async with app.lifespan():
        runtime: Runtime = app.state.runtime
        requests = await register(runtime, args.travellers)
        rules = runtime.rules.active(datetime.now(UTC))
        rates, statuses = await evaluations_per_second(
            runtime.deciding, requests, args.runs, args.evaluations
        )
        whole, alone = await in_memory_cost(runtime, requests, repeats=10)
    median = statistics.median(rates)
    rows = [
        ("workload", f"{len(requests)} travellers, {len(rules)} rules in force, outcomes "
         f"{', '.join(f'{status} {n}' for status, n in sorted(statuses.items()))}"),
        (f"dry_run (assess + database round trips), one worker, median of {args.runs} runs "
         f"of {args.evaluations}",
         f"{median:,.0f} /s (min {min(rates):,.0f}, max {max(rates):,.0f}); "
         f"{1e6 / median:,.0f} µs each"),
        ("in memory: facts + context + `evaluate()`", f"{whole:,.0f} µs ({1e6 / whole:,.0f} /s)"),
        ("in memory: `evaluate()` alone", f"{alone:,.0f} µs ({1e6 / alone:,.0f} /s)"),
    ]  # fmt: skip
    print(figures.markdown_table(figures.ELIGIBILITY.columns, rows))
    print(f"written to {figures.write(figures.ELIGIBILITY, rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--travellers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--evaluations", type=int, default=2000)
    args = parser.parse_args()
    with fresh_database() as database_url:
        asyncio.run(measure(database_url, args))


if __name__ == "__main__":
    main()
