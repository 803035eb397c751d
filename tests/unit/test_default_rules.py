import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest

from greenlane.domain.default_rules import DEFAULT_RULES
from greenlane.domain.rules import (
    RULE_ERROR,
    ApplicationFacts,
    DocumentFacts,
    DrivingLicenceFacts,
    EmployerFacts,
    Outcome,
    TravellerFacts,
    VehicleFacts,
    build_context,
    compile_rule,
    evaluate,
)

RULES = tuple(
    compile_rule(
        id=default.id,
        version=1,
        name=default.name,
        condition=default.condition,
        effect=default.effect,
        reason_code=default.reason_code,
        message=default.message,
    )
    for default in DEFAULT_RULES
)

TODAY = date(2026, 11, 26)
TRIP_START = date(2026, 12, 1)
PORT_KINDS = {
    "CNPXG": ("passenger", "vehicle", "cargo"),  # Pingxiang road crossing
    "VNLSN": ("passenger", "vehicle"),  # Lang Son
    "THBKK": ("passenger",),  # Bangkok, an airport
}

THAI_BUSINESS_VISITOR = TravellerFacts(
    nationality="THA",
    category="business_visitor",
    sex="M",
    date_of_birth=date(1979, 8, 2),
    employer=EmployerFacts(name="Siam Precision Parts Co., Ltd.", country="THA"),
    document=DocumentFacts(type="P", issuing_state="THA", expiry_date=date(2031, 1, 19)),
    driving_licence=None,
)
LICENCE = DrivingLicenceFacts(
    issuing_state="VNM", classes=("C", "FC"), expiry_date=date(2029, 4, 30)
)
TRUCK = VehicleFacts(kind="truck", registration_country="VNM", insurance_expiry=date(2027, 3, 31))
VIETNAMESE_DRIVER = TravellerFacts(
    nationality="VNM",
    category="commercial_driver",
    sex="M",
    date_of_birth=date(1985, 1, 5),
    employer=EmployerFacts(name="Lang Son Logistics JSC", country="VNM"),
    document=DocumentFacts(type="P", issuing_state="VNM", expiry_date=date(2032, 9, 9)),
    driving_licence=LICENCE,
)


def trip(days: int, ports: tuple[str, ...] = ("CNPXG",)) -> ApplicationFacts:
    return ApplicationFacts(
        ports=ports,
        valid_from=TRIP_START,
        valid_until=TRIP_START + timedelta(days=days - 1),
        entries="multiple",
        purpose="Meetings with suppliers",
    )


def decide(
    traveller: TravellerFacts, application: ApplicationFacts, vehicle: VehicleFacts | None = None
) -> Outcome:
    context = build_context(
        traveller=traveller,
        vehicle=vehicle,
        application=application,
        today=TODAY,
        port_kinds=PORT_KINDS,
    )
    return evaluate(RULES, context, category=traveller.category, ports=application.ports)


def reason_codes(outcome: Outcome) -> list[str]:
    return [reason.reason_code for reason in outcome.reasons]


def test_default_rules_are_fixed_distinct_and_described() -> None:
    assert len({uuid.UUID(default.id) for default in DEFAULT_RULES}) == len(DEFAULT_RULES)
    assert [default.reason_code for default in DEFAULT_RULES] == [
        "nationality_not_eligible",
        "document_validity_insufficient",
        "stay_too_long",
        "driving_licence_invalid",
        "insurance_insufficient",
        "port_not_for_vehicles",
    ]
    assert all(default.effect == "deny" for default in DEFAULT_RULES)
    assert all(len(default.description) > 100 for default in DEFAULT_RULES)


def test_a_thai_business_visitor_for_ten_days_is_approved() -> None:
    outcome = decide(THAI_BUSINESS_VISITOR, trip(10))

    assert outcome.status == "approved"
    assert [result.result for result in outcome.results] == ["pass"] * len(RULES)


def test_a_german_national_is_rejected() -> None:
    german = replace(
        THAI_BUSINESS_VISITOR,
        nationality="DEU",
        document=replace(THAI_BUSINESS_VISITOR.document, issuing_state="DEU"),
    )

    outcome = decide(german, trip(10))

    assert outcome.status == "rejected"
    assert reason_codes(outcome) == ["nationality_not_eligible"]


@pytest.mark.parametrize(
    ("days_valid_after_trip", "passes"), [(100, False), (179, False), (180, True), (181, True)]
)
def test_the_document_must_be_valid_180_days_after_the_trip(
    days_valid_after_trip: int, passes: bool
) -> None:
    application = trip(10)
    expiry = application.valid_until + timedelta(days=days_valid_after_trip)
    traveller = replace(
        THAI_BUSINESS_VISITOR, document=replace(THAI_BUSINESS_VISITOR.document, expiry_date=expiry)
    )

    outcome = decide(traveller, application)

    assert reason_codes(outcome) == ([] if passes else ["document_validity_insufficient"])


@pytest.mark.parametrize(
    ("category", "days", "passes"),
    [
        ("business_visitor", 90, True),
        ("business_visitor", 91, False),
        ("installer_servicer", 91, False),
        ("commercial_driver", 30, True),
        ("commercial_driver", 45, False),
        ("intra_corporate_transferee", 365, True),
        ("contractual_service_supplier", 366, False),
        ("investor", 200, True),
        ("accompanying_family", 366, False),
    ],
)
def test_the_stay_is_limited_by_category(category: str, days: int, passes: bool) -> None:
    traveller = replace(
        THAI_BUSINESS_VISITOR,
        category=category,
        document=replace(THAI_BUSINESS_VISITOR.document, expiry_date=date(2035, 1, 1)),
    )

    outcome = decide(traveller, trip(days))

    assert reason_codes(outcome) == ([] if passes else ["stay_too_long"])


def test_a_category_missing_from_the_stay_map_is_referred_not_unlimited() -> None:
    outcome = decide(replace(THAI_BUSINESS_VISITOR, category="tourist"), trip(10))

    assert outcome.status == "referred"
    assert reason_codes(outcome) == [RULE_ERROR]


def test_a_licensed_driver_with_an_insured_truck_through_vehicle_ports_is_approved() -> None:
    outcome = decide(VIETNAMESE_DRIVER, trip(20, ports=("CNPXG", "VNLSN")), TRUCK)

    assert outcome.status == "approved"


def test_a_driver_without_a_licence_cannot_bring_a_vehicle() -> None:
    unlicensed = replace(VIETNAMESE_DRIVER, driving_licence=None)

    outcome = decide(unlicensed, trip(20), TRUCK)

    assert outcome.status == "rejected"
    assert reason_codes(outcome) == ["driving_licence_invalid"]


def test_a_licence_expiring_during_the_trip_is_invalid() -> None:
    application = trip(20)
    expiring = replace(LICENCE, expiry_date=application.valid_until - timedelta(days=1))

    outcome = decide(replace(VIETNAMESE_DRIVER, driving_licence=expiring), application, TRUCK)

    assert reason_codes(outcome) == ["driving_licence_invalid"]


def test_no_licence_is_needed_without_a_vehicle() -> None:
    outcome = decide(replace(VIETNAMESE_DRIVER, driving_licence=None), trip(20))

    assert outcome.status == "approved"


@pytest.mark.parametrize(("days_after_trip", "passes"), [(-1, False), (0, True)])
def test_vehicle_insurance_must_cover_the_trip(days_after_trip: int, passes: bool) -> None:
    application = trip(20)
    truck = replace(TRUCK, insurance_expiry=application.valid_until + timedelta(days_after_trip))

    outcome = decide(VIETNAMESE_DRIVER, application, truck)

    assert reason_codes(outcome) == ([] if passes else ["insurance_insufficient"])


def test_expired_insurance_rejects() -> None:
    expired = replace(TRUCK, insurance_expiry=date(2026, 10, 1))

    outcome = decide(VIETNAMESE_DRIVER, trip(20), expired)

    assert outcome.status == "rejected"
    assert reason_codes(outcome) == ["insurance_insufficient"]


def test_a_vehicle_cannot_use_a_passenger_only_port() -> None:
    outcome = decide(VIETNAMESE_DRIVER, trip(20, ports=("CNPXG", "THBKK")), TRUCK)

    assert outcome.status == "rejected"
    assert reason_codes(outcome) == ["port_not_for_vehicles"]


def test_a_passenger_only_port_is_fine_without_a_vehicle() -> None:
    outcome = decide(THAI_BUSINESS_VISITOR, trip(10, ports=("THBKK",)))

    assert outcome.status == "approved"


def test_every_failing_rule_is_reported() -> None:
    german_driver = replace(VIETNAMESE_DRIVER, nationality="DEU", driving_licence=None)

    outcome = decide(german_driver, trip(45, ports=("THBKK",)), TRUCK)

    assert reason_codes(outcome) == [
        "nationality_not_eligible",
        "stay_too_long",
        "driving_licence_invalid",
        "port_not_for_vehicles",
    ]
