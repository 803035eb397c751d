"""The checks a lane runs on a token and what it scanned, shared by the server and offline lanes."""

import uuid
from datetime import date

from greenlane.domain.clearance_token import (
    CLOCK_LEEWAY,
    LANE_AUDIENCE,
    ClearanceClaims,
    document_binding,
    issue_token,
    new_token_id,
)
from greenlane.domain.lane_checks import LaneCheck, Presented, check, observed_in_validity
from greenlane.domain.signing_keys import new_signing_key, thumbprint_kid
from greenlane.domain.status_list import VALID, StatusListReference, list_uri

from ..api import bodies

ISSUER = "https://greenlane.example"
PORT = "THBKK"
NOW = 1_790_000_000
TODAY = date(2026, 9, 21)  # NOW's date, for the zones' two-digit years
KEY = new_signing_key()
KID = thumbprint_kid(KEY.public_key())
TRAVELLER = bodies.traveller()  # a Thai passport, held by a Thai national
STATE, NUMBER, NATIONALITY = "THA", TRAVELLER["document"]["number"], "THA"
TOKEN_ID = new_token_id()
CLAIMS = ClearanceClaims(
    issuer=ISSUER,
    clearance_id=str(uuid.uuid4()),
    audience=LANE_AUDIENCE,
    issued_at=NOW - 3600,
    not_before=NOW - 3600,
    expires_at=NOW + 86_400,
    token_id=TOKEN_ID,
    ports=(PORT,),
    entries="multiple",
    category="business_visitor",
    nationality=NATIONALITY,
    document_binding=document_binding(TOKEN_ID, STATE, NUMBER),
    status=StatusListReference(idx=7, uri=list_uri(ISSUER, 1)),
)
TOKEN = issue_token(CLAIMS, KEY, KID)
TYPED = Presented(document_number=NUMBER, issuing_state=STATE)
OTHER_NUMBER = "X1234567"
OWN_ZONE = bodies.td3(TRAVELLER)
ANOTHER_PASSPORT = bodies.td3(
    {**TRAVELLER, "document": {**TRAVELLER["document"], "number": OTHER_NUMBER}}
)
ANOTHER_NATIONALITY = bodies.td3({**TRAVELLER, "nationality": "VNM"})
UNREADABLE_ZONE = OWN_ZONE[:-1] + str((int(OWN_ZONE[-1]) + 1) % 10)  # composite digit off


def decide(presented: Presented, *, watchlisted: set[tuple[str, str]] | None = None) -> LaneCheck:
    return check(
        TOKEN,
        lane_port=PORT,
        presented=presented,
        keys={KID: KEY.public_key()},
        issuer=ISSUER,
        audience=LANE_AUDIENCE,
        revoked=(),
        status_of=lambda reference: VALID,
        now=NOW,
        today=TODAY,
        watchlisted=(
            None
            if watchlisted is None
            else lambda documents, plate, country: not watchlisted.isdisjoint(documents)
        ),
    )


def with_zone(presented: Presented, zone: str) -> Presented:
    return Presented(
        document_number=presented.document_number,
        issuing_state=presented.issuing_state,
        mrz=zone,
    )


# --- every presented document source must agree with the token --------------------------------


def test_the_typed_document_alone_is_green() -> None:
    assert decide(TYPED).codes == ()


def test_the_scanned_zone_alone_is_green() -> None:
    assert decide(Presented(mrz=OWN_ZONE)).codes == ()


def test_a_typed_document_and_its_own_zone_agreeing_are_green() -> None:
    result = decide(with_zone(TYPED, OWN_ZONE))
    assert (result.decision, result.codes) == ("green", ())


def test_the_booked_number_typed_does_not_cover_another_passport_scanned() -> None:
    result = decide(with_zone(TYPED, ANOTHER_PASSPORT))
    assert (result.decision, result.codes) == ("deny", ("document_mismatch",))


def test_another_passport_typed_beside_the_right_zone_is_denied_too() -> None:
    typed = Presented(document_number=OTHER_NUMBER, issuing_state=STATE)
    assert decide(with_zone(typed, OWN_ZONE)).codes == ("document_mismatch",)


def test_a_zone_whose_nationality_is_not_the_tokens_is_denied() -> None:
    assert decide(Presented(mrz=ANOTHER_NATIONALITY)).codes == ("document_mismatch",)
    assert decide(with_zone(TYPED, ANOTHER_NATIONALITY)).codes == ("document_mismatch",)


def test_an_unreadable_zone_beside_a_typed_document_is_referred() -> None:
    # The scanned passport could not be read, so nothing says it is the booked one.
    result = decide(with_zone(TYPED, UNREADABLE_ZONE))
    assert (result.decision, result.codes) == ("refer", ("document_not_presented",))


def test_an_unreadable_zone_beside_a_wrong_typed_document_names_both() -> None:
    typed = Presented(document_number=OTHER_NUMBER, issuing_state=STATE)
    assert decide(with_zone(typed, UNREADABLE_ZONE)).codes == (
        "document_mismatch",
        "document_not_presented",
    )


def test_every_document_presented_is_looked_up_on_the_watchlist() -> None:
    watched = {(STATE, OTHER_NUMBER)}
    assert decide(with_zone(TYPED, ANOTHER_PASSPORT), watchlisted=watched).codes == (
        "document_mismatch",
        "watchlist_hit",
    )
    assert decide(with_zone(TYPED, OWN_ZONE), watchlisted=watched).codes == ()
    assert decide(Presented(mrz=OWN_ZONE), watchlisted={(STATE, NUMBER)}).codes == (
        "watchlist_hit",
    )


# --- a crossing is observed while the clearance is valid ----------------------------------------


def test_a_crossing_observed_while_the_clearance_is_valid_fits() -> None:
    result = decide(TYPED)
    for observed in (CLAIMS.not_before, NOW, CLAIMS.expires_at - 1):
        assert observed_in_validity(result, observed)


def test_the_clock_leeway_holds_for_observations_too() -> None:
    result = decide(TYPED)
    assert observed_in_validity(result, CLAIMS.not_before - CLOCK_LEEWAY)
    assert observed_in_validity(result, CLAIMS.expires_at + CLOCK_LEEWAY - 1)


def test_a_crossing_observed_before_the_clearance_existed_does_not_fit() -> None:
    assert not observed_in_validity(decide(TYPED), CLAIMS.not_before - CLOCK_LEEWAY - 1)
    assert not observed_in_validity(decide(TYPED), CLAIMS.not_before - 29 * 86_400)


def test_a_crossing_observed_after_the_clearance_expired_does_not_fit() -> None:
    assert not observed_in_validity(decide(TYPED), CLAIMS.expires_at + CLOCK_LEEWAY)


def test_a_token_that_failed_has_its_deny_and_no_window_to_fit() -> None:
    broken = check(
        "not a token",
        lane_port=PORT,
        presented=TYPED,
        keys={KID: KEY.public_key()},
        issuer=ISSUER,
        audience=LANE_AUDIENCE,
        revoked=(),
        status_of=lambda reference: VALID,
        now=NOW,
        today=TODAY,
    )
    assert broken.codes == ("token_malformed",)
    assert observed_in_validity(broken, 0)
