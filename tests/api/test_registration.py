"""Registration through the HTTP API: validation, masking, duplicates, PATCH, erasure, isolation."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from . import bodies
from .actors import Actor, Admin
from .problems import assert_problem


def fields_of(response: httpx.Response) -> list[str]:
    problem = assert_problem(response, 422, "validation-failed")
    return [e["field"] for e in problem["errors"]]


def register(partner: Actor, body: dict[str, Any]) -> dict[str, Any]:
    response = partner.post("/v1/travellers", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# --- travellers --------------------------------------------------------------------------------


def test_register_read_and_list_a_traveller(partner: Actor) -> None:
    body = bodies.traveller()
    body["mrz"] = bodies.td3(body)
    created = register(partner, body)
    number = body["document"]["number"]
    assert created["document"]["number"] == "*" * (len(number) - 3) + number[-3:]
    assert created["date_of_birth"] == "1985-03-14"
    assert created["driving_licence"] is None
    assert "mrz" not in created
    assert created["created_by"] == f"client:{partner.client_id}"
    assert partner.get(f"/v1/travellers/{created['id']}").json() == created
    assert partner.get("/v1/travellers").json() == {"items": [created], "next_cursor": None}


def test_numbers_are_canonicalised_before_use(partner: Actor) -> None:
    body = bodies.traveller()
    body["document"]["number"] = "\uff45 1234-567"  # full-width, lower case, separators
    created = register(partner, body)
    assert created["document"]["number"] == "*****567"
    again = bodies.traveller()
    again["document"]["number"] = "E1234567"
    duplicate = partner.post("/v1/travellers", json=again)
    assert_problem(duplicate, 409, "conflict")
    assert duplicate.json()["existing_id"] == created["id"]


def test_a_driver_has_a_masked_licence(partner: Actor) -> None:
    body = bodies.driver()
    created = register(partner, body)
    licence_number = body["driving_licence"]["number"]
    assert created["driving_licence"]["number"].endswith(licence_number[-3:])
    assert licence_number not in json.dumps(created)
    assert created["driving_licence"]["classes"] == ["C", "CE"]


def test_mononymous_travellers_have_empty_given_names(partner: Actor) -> None:
    created = register(partner, bodies.traveller(given_names="", surname="Suharti"))
    assert created["given_names"] == ""


def test_icao_only_states_are_accepted_and_d_is_not(partner: Actor) -> None:
    british = bodies.traveller(nationality="GBD")
    british["document"]["issuing_state"] = "GBR"
    assert partner.post("/v1/travellers", json=british).status_code == 201
    german = bodies.traveller(nationality="D")
    assert fields_of(partner.post("/v1/travellers", json=german)) == ["nationality"]


def expired_document() -> dict[str, Any]:
    body = bodies.traveller()
    body["document"]["expiry_date"] = bodies.in_days(-1)
    return body


def with_document(**changes: Any) -> dict[str, Any]:
    body = bodies.traveller()
    body["document"].update(changes)
    return body


BAD_CLASS_LICENCE = {
    "number": "DL1",
    "issuing_state": "THA",
    "classes": ["c e"],
    "expiry_date": bodies.in_days(9),
}
BAD_TRAVELLERS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("expired document", expired_document(), ["document.expiry_date"]),
    ("birth in the future", bodies.traveller(date_of_birth=bodies.in_days(1)), ["date_of_birth"]),
    ("birth before 1900", bodies.traveller(date_of_birth="1899-12-31"), ["date_of_birth"]),
    ("impossible date", bodies.traveller(date_of_birth="1985-02-30"), ["date_of_birth"]),
    ("unknown nationality", bodies.traveller(nationality="ZZZ"), ["nationality"]),
    ("lower-case state", bodies.traveller(nationality="tha"), ["nationality"]),
    ("unknown issuing state", with_document(issuing_state="QQQ"), ["document.issuing_state"]),
    ("number with symbols", with_document(number="E12#45"), ["document.number"]),
    ("number too long", with_document(number="E" * 41), ["document.number"]),
    ("canonical number too long", with_document(number="E" * 21), ["document.number"]),
    ("bad document type", with_document(type="V"), ["document.type"]),
    ("digits in a name", bodies.traveller(surname="Jaid3e"), ["surname"]),
    ("NUL in a name", bodies.traveller(given_names="Som\u0000chai"), ["given_names"]),
    ("control character", bodies.traveller(surname="Jai\u0007dee"), ["surname"]),
    ("name too long", bodies.traveller(surname="A" * 101), ["surname"]),
    ("unknown category", bodies.traveller(category="tourist"), ["category"]),
    ("sex", bodies.traveller(sex="U"), ["sex"]),
    (
        "employer country",
        bodies.traveller(employer={"name": "X", "country": "XX"}),
        ["employer.country"],
    ),
    (
        "employer control char",
        bodies.traveller(employer={"name": "X\u0001", "country": "THA"}),
        ["employer.name"],
    ),
    ("unknown field", bodies.traveller(passport_photo="..."), ["passport_photo"]),
    ("unknown nested field", with_document(colour="red"), ["document.colour"]),
    ("number not a string", with_document(number=12345678), ["document.number"]),
    ("date not a string", bodies.traveller(date_of_birth=19850314), ["date_of_birth"]),
    ("driver without licence", bodies.traveller(category="commercial_driver"), ["driving_licence"]),
    (
        "licence class",
        bodies.driver(driving_licence=BAD_CLASS_LICENCE),
        ["driving_licence.classes[0]"],
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "fields"), BAD_TRAVELLERS, ids=[c[0] for c in BAD_TRAVELLERS]
)
def test_bad_travellers_are_422_naming_the_field(
    partner: Actor, name: str, body: dict[str, Any], fields: list[str]
) -> None:
    response = partner.post("/v1/travellers", json=body)
    assert fields_of(response) == fields
    for value in (body["document"]["number"], body["surname"]):
        if isinstance(value, str) and len(value) > 3:
            assert value not in response.text, "a problem must not echo personal data"


def test_every_problem_is_reported_at_once(partner: Actor) -> None:
    body = bodies.traveller(nationality="ZZZ", surname="J4", date_of_birth="1850-01-01")
    assert sorted(fields_of(partner.post("/v1/travellers", json=body))) == [
        "date_of_birth",
        "nationality",
        "surname",
    ]


def test_an_mrz_with_a_wrong_check_digit_is_refused(partner: Actor) -> None:
    body = bodies.traveller()
    line1, line2 = bodies.td3(body).splitlines()
    wrong = str((int(line2[9]) + 1) % 10)
    body["mrz"] = f"{line1}\n{line2[:9]}{wrong}{line2[10:]}"
    response = partner.post("/v1/travellers", json=body)
    assert fields_of(response) == ["mrz"]
    assert "document_number" in response.json()["errors"][0]["message"]


def test_an_mrz_that_disagrees_names_each_field(partner: Actor) -> None:
    body = bodies.traveller()
    body["mrz"] = bodies.td3(body)
    body["sex"] = "F"
    body["date_of_birth"] = "1986-03-14"
    body["document"]["number"] = bodies.unique_number()
    assert sorted(fields_of(partner.post("/v1/travellers", json=body))) == [
        "date_of_birth",
        "document.number",
        "sex",
    ]


def test_an_mrz_naming_someone_else_is_refused(partner: Actor) -> None:
    body = bodies.traveller()
    body["mrz"] = bodies.td3(body, names="SMITH<<JOHN")
    assert fields_of(partner.post("/v1/travellers", json=body)) == ["given_names", "surname"]


# Registered names against the zone's, by the ICAO 9303 Part 3 transliteration of Latin letters.
PRINTED_NAMES = [
    ("M\u00fcller", "Jos\u00e9", "MUELLER<<JOSE"),
    ("M\u00fcller", "Jos\u00e9", "MULLER<<JOSE"),
    ("\u00d8sterg\u00e5rd", "S\u00f8ren", "OESTERGAARD<<SOEREN"),
    ("O'Brien-Smith", "Anne Marie", "OBRIEN<SMITH<<ANNE<MARIE"),
    ("Nguy\u1ec5n", "Th\u1ecb Minh", "NGUYEN<<THI<MINH"),
    ("Stra\u00dfe", "\u0141ukasz", "STRASSE<<LUKASZ"),
]


@pytest.mark.parametrize(("surname", "given_names", "printed"), PRINTED_NAMES)
def test_names_agree_with_the_mrz_by_icao_transliteration(
    partner: Actor, surname: str, given_names: str, printed: str
) -> None:
    body = bodies.traveller(surname=surname, given_names=given_names)
    body["mrz"] = bodies.td3(body, names=printed)
    assert partner.post("/v1/travellers", json=body).status_code == 201


def test_a_name_the_mrz_cuts_short_must_begin_the_registered_one(partner: Actor) -> None:
    body = bodies.traveller(surname="Phanomwanchaisiriwong", given_names="Chayanuttha Kittiphong")
    body["mrz"] = bodies.td3(body)  # 45 characters of names: the zone keeps the first 39
    assert partner.post("/v1/travellers", json=body).status_code == 201
    other = bodies.traveller(surname="Phanomwanchaisiriwong", given_names="Chayanuttha Kittiphong")
    other["mrz"] = bodies.td3(other, names="PHANOMWANCHAISIRIWONG<<CHAYANUTTHA<KITX")
    assert fields_of(partner.post("/v1/travellers", json=other)) == ["given_names"]


def test_a_repeated_key_is_refused_not_resolved(partner: Actor) -> None:
    text = json.dumps(bodies.traveller(nationality="USA"))[:-1] + ', "nationality": "THA"}'
    response = partner.post(
        "/v1/travellers", content=text, headers={"content-type": "application/json"}
    )
    problem = assert_problem(response, 400, "bad-request")
    assert problem["detail"] == "A key is repeated in an object of the JSON body."
    assert partner.get("/v1/travellers").json()["items"] == []


@pytest.mark.parametrize(
    "mrz", ["", "P<THA\nshort", "X" * 100, "P<THA" + "<" * 39 + "\n" + "1" * 44]
)
def test_a_malformed_mrz_is_refused(partner: Actor, mrz: str) -> None:
    assert fields_of(partner.post("/v1/travellers", json=bodies.traveller(mrz=mrz))) == ["mrz"]


def test_malformed_json_wrong_types_and_deep_nesting(partner: Actor) -> None:
    headers = {"content-type": "application/json"}
    assert_problem(
        partner.post("/v1/travellers", content=b"{", headers=headers), 400, "bad-request"
    )
    assert_problem(partner.post("/v1/travellers", json=[1, 2]), 422, "validation-failed")
    deep = b"[" * 100_000 + b"]" * 100_000
    assert partner.post("/v1/travellers", content=deep, headers=headers).status_code == 413
    nested = b'{"document":' * 2000 + b"1" + b"}" * 2000
    response = partner.post("/v1/travellers", content=nested, headers=headers)
    assert 400 <= response.status_code < 500
    assert partner.get("/v1/travellers").status_code == 200, "the worker must survive"


def test_a_body_over_64_kib_is_413(partner: Actor) -> None:
    body = bodies.traveller(surname="A" * (70 * 1024))
    assert_problem(partner.post("/v1/travellers", json=body), 413, "body-too-large")


def test_patch_is_validated_like_a_new_registration(partner: Actor) -> None:
    body = bodies.traveller()
    created = register(partner, body)
    url = f"/v1/travellers/{created['id']}"
    # A new surname is a change of identity: it comes with an MRZ that says so.
    mrz = bodies.td3(body, names="JAIDEE<SMITH<<SOMCHAI")
    employer = {"name": "New Co", "country": "SGP"}
    changed = partner.patch(url, json={"surname": "Jaidee-Smith", "mrz": mrz, "employer": employer})
    assert changed.status_code == 200, changed.text
    assert changed.json()["surname"] == "Jaidee-Smith"
    assert changed.json()["document"] == created["document"]
    assert changed.json()["updated_at"] > created["updated_at"]
    assert fields_of(partner.patch(url, json={"date_of_birth": "2999-01-01"})) == ["date_of_birth"]
    assert fields_of(partner.patch(url, json={"category": "commercial_driver"})) == [
        "driving_licence"
    ]
    assert fields_of(partner.patch(url, json={"id": str(uuid.uuid4())})) == ["id"]
    assert partner.get(url).json()["surname"] == "Jaidee-Smith"


def test_patch_can_add_and_remove_a_licence(partner: Actor) -> None:
    created = register(partner, bodies.traveller())
    url = f"/v1/travellers/{created['id']}"
    licence = bodies.driver()["driving_licence"]
    assert partner.patch(url, json={"driving_licence": licence}).json()["driving_licence"][
        "classes"
    ] == ["C", "CE"]
    assert partner.patch(url, json={"driving_licence": None}).json()["driving_licence"] is None


def test_patch_onto_another_registrations_document_is_409(partner: Actor) -> None:
    first_body = bodies.traveller()
    first = register(partner, first_body)
    second_body = bodies.traveller()
    second = register(partner, second_body)
    mrz = bodies.td3({**second_body, "document": first_body["document"]})
    response = partner.patch(
        f"/v1/travellers/{second['id']}", json={"document": first_body["document"], "mrz": mrz}
    )
    assert_problem(response, 409, "conflict")
    assert response.json()["existing_id"] == first["id"]


def test_erasing_a_traveller(partner: Actor, admin: Admin) -> None:
    created = register(partner, bodies.traveller())
    url = f"/v1/travellers/{created['id']}"
    assert partner.delete(url).status_code == 204
    assert_problem(partner.get(url), 404, "not-found")
    assert_problem(partner.delete(url), 404, "not-found")
    assert partner.get("/v1/travellers").json()["items"] == []
    erased = [
        e for e in admin.get("/v1/admin/audit").json()["items"] if e["action"] == "traveller.erase"
    ]
    assert [e["subject"] for e in erased] == [created["id"]]
    assert "Jaidee" not in json.dumps(erased)


def test_the_same_person_for_two_partners(admin: Admin, partner: Actor) -> None:
    other = admin.partner_actor("Other Co")
    body = bodies.traveller()
    mine = register(partner, body)
    theirs = register(other, body)
    assert mine["id"] != theirs["id"]
    assert [t["id"] for t in partner.get("/v1/travellers").json()["items"]] == [mine["id"]]
    assert [t["id"] for t in other.get("/v1/travellers").json()["items"]] == [theirs["id"]]


def test_pagination(partner: Actor) -> None:
    made = [register(partner, bodies.traveller())["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        url = "/v1/travellers?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = partner.get(url).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    for bad in ("limit=0", "limit=201", "limit=x", "cursor=garbage!"):
        assert_problem(partner.get(f"/v1/travellers?{bad}"), 422, "validation-failed")


# --- vehicles ----------------------------------------------------------------------------------


def test_register_a_vehicle_with_a_canonical_plate(partner: Actor) -> None:
    response = partner.post("/v1/vehicles", json=bodies.vehicle(plate="70-1234 ab"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["plate"] == "701234AB"
    assert created["vin"] == "1M8GDM9AXKP042788"
    duplicate = partner.post("/v1/vehicles", json=bodies.vehicle(plate="701234-AB"))
    assert_problem(duplicate, 409, "conflict")
    assert duplicate.json()["existing_id"] == created["id"]
    url = f"/v1/vehicles/{created['id']}"
    assert partner.patch(url, json={"colour": "white"}).json()["colour"] == "white"
    assert fields_of(partner.patch(url, json={"vin": "1M8GDM9AXKP04278O"})) == ["vin"]
    assert partner.delete(url).status_code == 204
    assert_problem(partner.get(url), 404, "not-found")


BAD_VEHICLES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("VIN with I", bodies.vehicle(vin="1M8GDM9AXKP04278I"), ["vin"]),
    ("VIN with O", bodies.vehicle(vin="1M8GDM9AXKP04278O"), ["vin"]),
    ("VIN with Q", bodies.vehicle(vin="1M8GDM9AXKP04278Q"), ["vin"]),
    ("VIN too short", bodies.vehicle(vin="1M8GDM9AXKP0427"), ["vin"]),
    ("VIN 18 characters", bodies.vehicle(vin="1M8GDM9AXKP0427881"), ["vin"]),
    ("plate symbols", bodies.vehicle(plate="AB#12"), ["plate"]),
    ("plate empty", bodies.vehicle(plate=""), ["plate"]),
    ("kind", bodies.vehicle(kind="boat"), ["kind"]),
    ("country", bodies.vehicle(registration_country="ZZZ"), ["registration_country"]),
    ("insurance date", bodies.vehicle(insurance_expiry="2026-13-01"), ["insurance_expiry"]),
    ("unknown field", bodies.vehicle(owner="me"), ["owner"]),
    ("make too long", bodies.vehicle(make="M" * 61), ["make"]),
]


@pytest.mark.parametrize(("name", "body", "fields"), BAD_VEHICLES, ids=[c[0] for c in BAD_VEHICLES])
def test_bad_vehicles_are_422(
    partner: Actor, name: str, body: dict[str, Any], fields: list[str]
) -> None:
    assert fields_of(partner.post("/v1/vehicles", json=body)) == fields


# --- isolation ---------------------------------------------------------------------------------


def test_another_partners_records_are_404_everywhere(admin: Admin, partner: Actor) -> None:
    other = admin.partner_actor("Other Co")
    traveller = register(other, bodies.traveller())
    vehicle = other.post("/v1/vehicles", json=bodies.vehicle()).json()
    missing = str(uuid.uuid4())
    for resource, record_id in (("travellers", traveller["id"]), ("vehicles", vehicle["id"])):
        for target in (record_id, missing):
            url = f"/v1/{resource}/{target}"
            answers = [partner.get(url), partner.patch(url, json={}), partner.delete(url)]
            for answer in answers:
                assert answer.status_code == 404
                assert answer.json() == {
                    "type": "urn:greenlane:problem:not-found",
                    "title": "Not found",
                    "status": 404,
                    "detail": f"no such {resource[:-1]}",
                }
        assert partner.get(f"/v1/{resource}").json()["items"] == []
    assert other.get(f"/v1/travellers/{traveller['id']}").status_code == 200


def test_partner_id_in_a_body_is_refused(partner: Actor) -> None:
    body = bodies.traveller(partner_id=str(uuid.uuid4()))
    assert fields_of(partner.post("/v1/travellers", json=body)) == ["partner_id"]


def test_only_partners_register(admin: Admin) -> None:
    lane = admin.lane_actor()
    for actor in (admin, lane):
        assert_problem(actor.get("/v1/travellers"), 403, "forbidden")
        assert_problem(actor.post("/v1/vehicles", json=bodies.vehicle()), 403, "forbidden")


def test_text_is_stored_cleaned(partner: Actor) -> None:
    created = register(partner, bodies.traveller(surname="  Jaidee ", given_names="Somchai  "))
    assert (created["surname"], created["given_names"]) == ("Jaidee", "Somchai")
    vehicle = partner.post("/v1/vehicles", json=bodies.vehicle(make=" Hino ", colour="white "))
    assert (vehicle.json()["make"], vehicle.json()["colour"]) == ("Hino", "white")
