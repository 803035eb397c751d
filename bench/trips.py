"""Trips for ``make bench``: 4-person trips through the bench's port, and their lane questions.

Each trip is a car with a driver (cleared for that car) and three passengers, all multiple
entry, so that every verification of it is green and records five crossings (four people and the
car). The bodies file holds one ``POST /v1/verify/trip`` question a line without its event id,
as ``bench/verify.lua`` takes them.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from bench.harness import PORT_CODE, Seeded, access_token_of, bearer, sign_in_form

PEOPLE = 4
PATH = "/v1/verify/trip"


def seed_trips(seeded: Seeded, count: int, bodies: Path) -> Path:
    """``count`` approved 4-person trips of the seeded partner, their questions in ``bodies``."""
    questions = asyncio.run(_file_all(seeded, count))
    bodies.write_text("".join(json.dumps(question) + "\n" for question in questions))
    return bodies


async def _file_all(seeded: Seeded, count: int) -> list[dict[str, Any]]:
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=seeded.base_url, timeout=60) as client:
        form = sign_in_form(seeded.partner_id, seeded.partner_secret)
        headers = bearer(access_token_of(await client.post("/oauth/token", data=form)))

        async def one(n: int) -> dict[str, Any]:
            async with limit:
                return await _trip(client, headers, n)

        return list(await asyncio.gather(*(one(n) for n in range(count))))


async def _trip(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> dict[str, Any]:
    today = date.today()
    plate = f"TR-{n:05d}"
    vehicle = await _post(
        client,
        headers,
        "/v1/vehicles",
        {
            "plate": plate,
            "registration_country": "THA",
            "vin": "1M8GDM9AXKP042788",
            "kind": "car",
            "insurance_expiry": (today + timedelta(days=365)).isoformat(),
        },
    )
    crew = []
    documents = []
    for seat in range(PEOPLE):
        number = f"T{n:05d}{seat:02d}"
        traveller = await _post(client, headers, "/v1/travellers", _traveller(number, seat == 0))
        await _post(
            client,
            headers,
            "/v1/applications",
            {
                "traveller_id": traveller["id"],
                **({"vehicle_id": vehicle["id"]} if seat == 0 else {}),
                "ports": [PORT_CODE],
                "valid_from": today.isoformat(),
                "valid_until": (today + timedelta(days=30)).isoformat(),
                "entries": "multiple",
                "purpose": "bench trip",
            },
        )
        crew.append(
            {"traveller_id": traveller["id"], "role": "driver" if seat == 0 else "passenger"}
        )
        documents.append({"number": number, "issuing_state": "THA"})
    trip = await _post(
        client,
        headers,
        "/v1/trips",
        {
            "vehicle_id": vehicle["id"],
            "port_code": PORT_CODE,
            "direction": "entry",
            "expected_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
            "crew": crew,
        },
    )
    if trip["status"] != "approved":
        raise RuntimeError(f"a bench trip was {trip['status']}: {trip['reasons']}")
    # Scanned in another order than listed, as a lane would.
    return {
        "token": trip["token"],
        "direction": "entry",
        "plate": plate,
        "documents": documents[::-1],
    }


def _traveller(number: str, driver: bool) -> dict[str, Any]:
    today = date.today()
    body: dict[str, Any] = {
        "given_names": "Bench",
        "surname": "Passenger",
        "date_of_birth": "1980-01-01",
        "sex": "F",
        "nationality": "THA",
        "document": {
            "type": "P",
            "number": number,
            "issuing_state": "THA",
            "expiry_date": (today + timedelta(days=3 * 365)).isoformat(),
        },
        "category": "business_visitor",
        "employer": {"name": "Bench Co", "country": "THA"},
    }
    if driver:
        body["driving_licence"] = {
            "number": f"DL{number}",
            "issuing_state": "THA",
            "classes": ["B"],
            "expiry_date": (today + timedelta(days=3 * 365)).isoformat(),
        }
    return body


async def _post(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, body: dict[str, Any]
) -> dict[str, Any]:
    answer = await client.post(path, headers=headers, json=body)
    answer.raise_for_status()
    created: dict[str, Any] = answer.json()
    return created
