"""Valid request bodies, built fresh for each test so that tests can change them freely."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from greenlane.domain.mrz import check_digit

TODAY = date.today()


def in_days(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


def unique_number(prefix: str = "E") -> str:
    return prefix + uuid.uuid4().hex[:8].upper()


def traveller(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "given_names": "Somchai",
        "surname": "Jaidee",
        "date_of_birth": "1985-03-14",
        "sex": "M",
        "nationality": "THA",
        "document": {
            "type": "P",
            "number": unique_number(),
            "issuing_state": "THA",
            "expiry_date": in_days(3 * 365),
        },
        "category": "business_visitor",
        "employer": {"name": "Siam Cement Trading", "country": "THA"},
    }
    body.update(changes)
    return body


def driver(**changes: Any) -> dict[str, Any]:
    body = traveller(
        category="commercial_driver",
        driving_licence={
            "number": unique_number("DL"),
            "issuing_state": "THA",
            "classes": ["C", "CE"],
            "expiry_date": in_days(2 * 365),
        },
    )
    body.update(changes)
    return body


def vehicle(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plate": f"70-{uuid.uuid4().int % 10000:04d}",
        "registration_country": "THA",
        "vin": "1M8GDM9AXKP042788",
        "kind": "truck",
        "make": "Hino",
        "insurance_expiry": in_days(365),
    }
    body.update(changes)
    return body


def application(traveller_id: str, **changes: Any) -> dict[str, Any]:
    """A ten-day business trip through Bangkok, from tomorrow (both ends count)."""
    body: dict[str, Any] = {
        "traveller_id": traveller_id,
        "ports": ["THBKK"],
        "valid_from": in_days(1),
        "valid_until": in_days(10),
        "entries": "multiple",
        "purpose": "Meetings with suppliers",
    }
    body.update(changes)
    return body


def _field(value: str, width: int) -> str:
    return value.ljust(width, "<")[:width]


def _yymmdd(iso: str) -> str:
    return iso[2:4] + iso[5:7] + iso[8:10]


def td3(body: dict[str, Any], names: str | None = None) -> str:
    """The two-line MRZ of a passport holding what ``body`` says, with valid check digits;
    ``names`` is the name field as printed, when the body's names are not plain A-Z."""
    document = body["document"]
    if names is None:
        names = f"{body['surname'].upper()}<<{body['given_names'].upper().replace(' ', '<')}"
    line1 = _field(f"P<{document['issuing_state']}{names}", 44)
    number = _field(document["number"], 9)
    birth = _yymmdd(body["date_of_birth"])
    expiry = _yymmdd(document["expiry_date"])
    personal = _field("", 14)
    parts = [
        number + str(check_digit(number)),
        body["nationality"],
        birth + str(check_digit(birth)),
        body["sex"],
        expiry + str(check_digit(expiry)),
        personal + "<",
    ]
    composite = parts[0] + parts[2] + parts[4] + parts[5]
    line2 = "".join(parts) + str(check_digit(composite))
    return f"{line1}\n{line2}"
