import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import replace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from greenlane.domain.clearance_token import (
    CATEGORY_CODES,
    LANE_AUDIENCE,
    MAX_TOKEN_CHARS,
    QR_LIMIT,
    ClaimsError,
    ClearanceClaims,
    TokenFailure,
    VerifiedToken,
    binding_matches,
    document_binding,
    issue_token,
    new_token_id,
    plate_matches,
    valid_at,
    vehicle_binding,
    verify_token,
)
from greenlane.domain.signing_keys import new_signing_key, public_jwk, thumbprint_kid
from greenlane.domain.status_list import StatusListReference, list_uri
from greenlane.settings import MAX_ISSUER_LENGTH

ISSUER = "https://greenlane.example"
AUDIENCE = LANE_AUDIENCE
NOW = 1_790_000_000
KEY = new_signing_key()
KID = thumbprint_kid(KEY.public_key())
KEYS = {KID: KEY.public_key()}
FIVE_PORTS = ("CNPXG", "THBKK", "VNHAN", "LAVTE", "MMRGN")


def _claims(**changes: Any) -> ClearanceClaims:
    token_id = changes.pop("token_id", new_token_id())
    claims = ClearanceClaims(
        issuer=ISSUER,
        clearance_id=str(uuid.uuid4()),
        audience=AUDIENCE,
        issued_at=NOW - 60,
        not_before=NOW - 60,
        expires_at=NOW + 86_400,
        token_id=token_id,
        ports=("CNPXG", "THBKK"),
        entries="multiple",
        category="business_visitor",
        nationality="CHN",
        document_binding=document_binding(token_id, "CHN", "E12345678"),
        status=StatusListReference(idx=1_048_575, uri=list_uri(ISSUER, 1)),
        vehicle_binding=vehicle_binding(token_id, "CHN", "A12345"),
        vehicle_country="CHN",
    )
    return replace(claims, **changes)


def _verify(token: str, **overrides: Any) -> VerifiedToken | TokenFailure:
    arguments: dict[str, Any] = {
        "keys": KEYS,
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "now": NOW,
    }
    return verify_token(token, **{**arguments, **overrides})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64_json(value: Any) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _es256(signing_input: str, key: ec.EllipticCurvePrivateKey) -> str:
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def _forge(
    header: dict[str, Any],
    payload: dict[str, Any],
    key: ec.EllipticCurvePrivateKey = KEY,
) -> str:
    """A token with any header and claims, correctly signed by ``key``."""
    signing_input = f"{_b64_json(header)}.{_b64_json(payload)}"
    return f"{signing_input}.{_es256(signing_input, key)}"


def _header(**changes: Any) -> dict[str, Any]:
    return {"alg": "ES256", "kid": KID, "typ": "gl-clearance+jwt", **changes}


def _payload(token: str) -> dict[str, Any]:
    encoded = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(encoded + "=="))
    return decoded


def _failure_code(result: VerifiedToken | TokenFailure) -> str:
    assert isinstance(result, TokenFailure), result
    return result.code


def test_round_trip() -> None:
    claims = _claims()
    result = _verify(issue_token(claims, KEY, KID))
    assert result == VerifiedToken(kid=KID, claims=claims)


def test_round_trip_without_a_vehicle() -> None:
    claims = _claims(
        vehicle_binding=None, vehicle_country=None, entries="single", category="investor"
    )
    token = issue_token(claims, KEY, KID)
    assert "vbh" not in _payload(token)
    assert _verify(token) == VerifiedToken(kid=KID, claims=claims)


def test_wire_format() -> None:
    claims = _claims(entries="single", category="intra_corporate_transferee")
    token = issue_token(claims, KEY, KID)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": KID, "typ": "gl-clearance+jwt"}
    payload = _payload(token)
    assert set(payload) == {
        "iss", "sub", "aud", "iat", "nbf", "exp", "jti", "status", "gl",
    }  # fmt: skip
    assert payload["sub"] == _b64(uuid.UUID(claims.clearance_id).bytes)  # 22 characters
    assert payload["status"] == {"status_list": {"idx": 1_048_575, "uri": list_uri(ISSUER, 1)}}
    assert payload["gl"] == " ".join(
        (
            "sict",
            "CHN",
            claims.document_binding,
            "CHN" + str(claims.vehicle_binding),
            "CNPXG",
            "THBKK",
        )
    )
    assert len(claims.token_id) == len(claims.document_binding) == 12


def test_without_a_vehicle_the_terms_say_so() -> None:
    claims = _claims(vehicle_binding=None, vehicle_country=None)
    assert _payload(issue_token(claims, KEY, KID))["gl"].split(" ")[3] == "-"
    verified = _verify(issue_token(claims, KEY, KID))
    assert isinstance(verified, VerifiedToken)
    assert verified.claims == claims


def test_a_standard_jwt_library_verifies_the_token() -> None:
    # Offline lanes use whatever JOSE library their platform has.
    token = issue_token(_claims(), KEY, KID)
    decoded = jwt.decode(
        token,
        jwt.PyJWK(public_jwk(KEY.public_key())),
        algorithms=["ES256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert decoded["jti"] == _payload(token)["jti"]


@pytest.mark.parametrize("category", sorted(CATEGORY_CODES))
def test_five_ports_and_a_vehicle_fit_a_qr_code(category: str) -> None:
    longest_issuer = "https://" + "g" * (MAX_ISSUER_LENGTH - len("https://"))
    claims = _claims(ports=FIVE_PORTS, category=category, issuer=longest_issuer)
    token = issue_token(claims, KEY, KID)
    assert len(token) < QR_LIMIT == 600
    assert isinstance(_verify(token, issuer=longest_issuer), VerifiedToken)


def test_a_token_too_long_for_a_qr_code_is_refused() -> None:
    with pytest.raises(ClaimsError) as caught:
        issue_token(_claims(ports=FIVE_PORTS * 2), KEY, KID)
    assert caught.value.code == "token_too_long"


def test_an_unknown_category_is_refused() -> None:
    with pytest.raises(ClaimsError) as caught:
        issue_token(_claims(category="tourist"), KEY, KID)
    assert caught.value.field == "category"


def test_binding_byte_encoding() -> None:
    # Spelled out here as a lane implementer would read it in the docs.
    token_id = "AAECAwQFBgcI"

    def framed(text: str) -> bytes:
        data = text.encode()
        return len(data).to_bytes(4, "big") + data

    document = framed("document") + framed(token_id) + framed("CHN") + framed("E12345678")
    vehicle = framed("vehicle") + framed(token_id) + framed("THA") + framed("1AB2345")
    assert document_binding(token_id, "CHN", "E12345678") == _b64(
        hashlib.sha256(document).digest()[:9]
    )
    assert vehicle_binding(token_id, "THA", "1AB2345") == _b64(hashlib.sha256(vehicle).digest()[:9])
    assert len(document_binding(token_id, "CHN", "E12345678")) == 12


def test_bindings_differ_between_tokens_and_between_kinds() -> None:
    first, second = new_token_id(), new_token_id()
    assert document_binding(first, "CHN", "E1") != document_binding(second, "CHN", "E1")
    assert document_binding(first, "CHN", "E1") != vehicle_binding(first, "CHN", "E1")
    assert document_binding(first, "CHN", "E1") != document_binding(first, "CH", "NE1")


def test_new_token_id_is_72_random_bits() -> None:
    ids = {new_token_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(base64.urlsafe_b64decode(token_id)) == 9 for token_id in ids)


def test_binding_matches_only_the_issued_document() -> None:
    verified = _verify(issue_token(_claims(), KEY, KID))
    assert isinstance(verified, VerifiedToken)
    assert binding_matches(verified, issuing_state="CHN", number="E12345678")
    assert not binding_matches(verified, issuing_state="CHN", number="E12345679")
    assert not binding_matches(verified, issuing_state="THA", number="E12345678")


def test_plate_matches_only_the_issued_vehicle() -> None:
    verified = _verify(issue_token(_claims(), KEY, KID))
    assert isinstance(verified, VerifiedToken)
    assert plate_matches(verified, plate="A12345")
    assert not plate_matches(verified, plate="A12346")
    assert isinstance(verified, VerifiedToken)
    other_country = VerifiedToken(kid=KID, claims=replace(verified.claims, vehicle_country="VNM"))
    assert not plate_matches(other_country, plate="A12345")


def test_no_plate_matches_a_token_without_a_vehicle() -> None:
    verified = _verify(issue_token(_claims(vehicle_binding=None, vehicle_country=None), KEY, KID))
    assert isinstance(verified, VerifiedToken)
    assert not plate_matches(verified, plate="A12345")


def test_tampered_payload_is_refused() -> None:
    header, _, signature = issue_token(_claims(), KEY, KID).split(".")
    original = _payload(issue_token(_claims(), KEY, KID))
    payload = {**original, "gl": original["gl"].replace("THBKK", "MYKUL")}
    assert _failure_code(_verify(f"{header}.{_b64_json(payload)}.{signature}")) == (
        "signature_invalid"
    )


def test_tampered_header_is_refused() -> None:
    _, payload, signature = issue_token(_claims(), KEY, KID).split(".")
    header = _b64_json(_header(x5u="https://attacker.example/key"))
    assert _failure_code(_verify(f"{header}.{payload}.{signature}")) == "signature_invalid"


def test_token_from_another_key_with_the_same_kid_is_refused() -> None:
    impostor = new_signing_key()
    token = issue_token(_claims(), impostor, KID)
    assert _failure_code(_verify(token)) == "signature_invalid"


def test_embedded_jwk_is_never_used() -> None:
    impostor = new_signing_key()
    header = _header(jwk=public_jwk(impostor.public_key()), jku="https://attacker.example/jwks")
    token = _forge(header, _payload(issue_token(_claims(), KEY, KID)), impostor)
    assert _failure_code(_verify(token)) == "signature_invalid"


def test_ignored_headers_do_not_stop_a_good_token() -> None:
    header = _header(jku="https://elsewhere.example/jwks", x5u="https://elsewhere.example/x")
    token = _forge(header, _payload(issue_token(_claims(), KEY, KID)))
    assert isinstance(_verify(token), VerifiedToken)


def test_signature_in_der_form_is_refused() -> None:
    header, payload, _ = issue_token(_claims(), KEY, KID).split(".")
    der = KEY.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    assert _failure_code(_verify(f"{header}.{payload}.{_b64(der)}")) == "signature_invalid"


def test_signature_with_a_non_canonical_encoding_is_refused() -> None:
    token = issue_token(_claims(), KEY, KID)
    # 64 bytes take 86 characters; the last one carries 4 unused bits, so a different last
    # character can decode to the same bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    sibling = alphabet[last ^ 0b0001]
    assert base64.urlsafe_b64decode(token.split(".")[2][:-1] + sibling + "==") == (
        base64.urlsafe_b64decode(token.split(".")[2] + "==")
    )
    assert _failure_code(_verify(token[:-1] + sibling)) == "signature_invalid"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "HS256", "ES384", "RS256", None])
def test_any_algorithm_but_es256_is_refused(alg: str | None) -> None:
    payload = _payload(issue_token(_claims(), KEY, KID))
    signing_input = f"{_b64_json(_header(alg=alg))}.{_b64_json(payload)}"
    assert _failure_code(_verify(f"{signing_input}.AAAA")) == "token_malformed"


def test_missing_algorithm_is_refused() -> None:
    header = _header()
    del header["alg"]
    token = _forge(header, _payload(issue_token(_claims(), KEY, KID)))
    assert _failure_code(_verify(token)) == "token_malformed"


@pytest.mark.parametrize(
    "secret",
    [
        KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        json.dumps(public_jwk(KEY.public_key())).encode(),
    ],
    ids=["pem", "jwk"],
)
def test_hs256_signed_with_the_public_key_is_refused(secret: bytes) -> None:
    payload = _payload(issue_token(_claims(), KEY, KID))
    signing_input = f"{_b64_json(_header(alg='HS256'))}.{_b64_json(payload)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    assert _failure_code(_verify(f"{signing_input}.{_b64(mac)}")) == "token_malformed"


@pytest.mark.parametrize("typ", ["JWT", "gl-clearance+JWT", "at+jwt", None])
def test_wrong_type_is_refused(typ: str | None) -> None:
    token = _forge(_header(typ=typ), _payload(issue_token(_claims(), KEY, KID)))
    assert _failure_code(_verify(token)) == "token_malformed"


@pytest.mark.parametrize("crit", [["exp"], [], ["b64"]])
def test_crit_header_is_refused(crit: list[str]) -> None:
    token = _forge(_header(crit=crit), _payload(issue_token(_claims(), KEY, KID)))
    assert _failure_code(_verify(token)) == "token_malformed"


def test_unknown_kid_is_refused() -> None:
    other = new_signing_key()
    token = issue_token(_claims(), other, thumbprint_kid(other.public_key()))
    assert _failure_code(_verify(token)) == "key_unknown"


def test_kid_of_another_curve_is_refused() -> None:
    token = issue_token(_claims(), KEY, KID)
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    assert _failure_code(_verify(token, keys={KID: p384})) == "key_unknown"


@pytest.mark.parametrize("kid", ["", "k" * 65, 7, None, ["kid"]])
def test_malformed_kid_is_refused(kid: Any) -> None:
    token = _forge(_header(kid=kid), _payload(issue_token(_claims(), KEY, KID)))
    assert _failure_code(_verify(token, keys={**KEYS, "k" * 65: KEY.public_key()})) == (
        "token_malformed"
    )


def test_ten_kilobyte_kid_is_refused() -> None:
    token = _forge(_header(kid="k" * 10_240), _payload(issue_token(_claims(), KEY, KID)))
    assert _failure_code(_verify(token)) == "token_malformed"


def test_validly_signed_token_over_the_length_bound_is_refused() -> None:
    payload = _payload(issue_token(_claims(), KEY, KID))
    short = _forge(_header(), {**payload, "pad": "x" * 1000})
    long = _forge(_header(), {**payload, "pad": "x" * 1500})
    assert len(short) <= MAX_TOKEN_CHARS < len(long)
    assert isinstance(_verify(short), VerifiedToken)
    assert _failure_code(_verify(long)) == "token_malformed"


def test_sixty_four_kilobyte_token_is_refused() -> None:
    assert _failure_code(_verify("a" * 65_536)) == "token_malformed"
    assert _failure_code(_verify("e" * (MAX_TOKEN_CHARS - 1) + ".a.b")) == "token_malformed"


@pytest.mark.parametrize(
    "shape",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "{header}.{payload}.",
        ".{payload}.{signature}",
        "{header}.{payload}.{signature}=",
        "{header}.{payload}.{signature} ",
        "{header}+.{payload}.{signature}",
        "{header}..{signature}",
        "eyJhbGciOiJFUzI1NiJ9X.{payload}.{signature}",
    ],
)
def test_malformed_structure_is_refused(shape: str) -> None:
    header, payload, signature = issue_token(_claims(), KEY, KID).split(".")
    token = shape.format(header=header, payload=payload, signature=signature)
    assert _failure_code(_verify(token)) == "token_malformed"


@pytest.mark.parametrize("raw_header", [b"not json", b"[1,2]", b'"ES256"', b"\xff\xfe"])
def test_header_that_is_not_a_json_object_is_refused(raw_header: bytes) -> None:
    _, payload, signature = issue_token(_claims(), KEY, KID).split(".")
    assert _failure_code(_verify(f"{_b64(raw_header)}.{payload}.{signature}")) == (
        "token_malformed"
    )


def test_signed_payload_that_is_not_json_is_refused() -> None:
    signing_input = f"{_b64_json(_header())}.{_b64(b'not json')}"
    token = f"{signing_input}.{_es256(signing_input, KEY)}"
    assert _failure_code(_verify(token)) == "token_malformed"


REQUIRED_CLAIMS = ["iss", "sub", "aud", "iat", "nbf", "exp", "jti", "status", "gl"]


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_missing_claim_is_refused(claim: str) -> None:
    payload = _payload(issue_token(_claims(), KEY, KID))
    del payload[claim]
    assert _failure_code(_verify(_forge(_header(), payload))) == "token_malformed"


_GOOD_TERMS = "mbv CHN AAAAAAAAAAAA CHNAAAAAAAAAAAA CNPXG"


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("sub", 12345),
        ("sub", "45120e1e-29b8-4350-878a-a2a1b6d202d0"),  # the long form, not 16 bytes in base64url
        ("sub", "AAAAAAAAAAAAAAAAAAAAAA="),
        ("sub", "AAAAAAAAAAAAAAAAAAAA"),
        ("jti", None),
        ("iss", ["https://greenlane.example"]),
        ("aud", [LANE_AUDIENCE]),
        ("exp", str(NOW + 86_400)),
        ("exp", float(NOW + 86_400)),
        ("iat", True),
        ("nbf", None),
        ("status", None),
        ("status", {}),
        ("status", {"status_list": None}),
        ("status", {"status_list": {"uri": "https://greenlane.example/v1/status-lists/1"}}),
        ("status", {"status_list": {"idx": 3}}),
        (
            "status",
            {"status_list": {"idx": -1, "uri": "https://greenlane.example/v1/status-lists/1"}},
        ),
        (
            "status",
            {"status_list": {"idx": "3", "uri": "https://greenlane.example/v1/status-lists/1"}},
        ),
        (
            "status",
            {"status_list": {"idx": 1.5, "uri": "https://greenlane.example/v1/status-lists/1"}},
        ),
        ("status", {"status_list": {"idx": 3, "uri": 7}}),
        ("status", {"status_list": {"idx": 3, "uri": ""}}),
        ("gl", ["mbv", "CHN"]),
        ("gl", ""),
        ("gl", _GOOD_TERMS.replace(" CNPXG", "")),  # no port
        ("gl", _GOOD_TERMS + " "),  # an empty port
        ("gl", _GOOD_TERMS.replace(" CNPXG", "  CNPXG")),
        ("gl", _GOOD_TERMS.replace("mbv", "xbv")),  # no such entry rule
        ("gl", _GOOD_TERMS.replace("mbv", "m")),  # no category
        ("gl", _GOOD_TERMS.replace("mbv", "mbusiness_visitor")),
        ("gl", _GOOD_TERMS.replace(" CHN ", " CN ")),  # nationality not alpha-3
        ("gl", _GOOD_TERMS.replace("CHNAAAAAAAAAAAA", "CHN")),  # a vehicle without binding
    ],
)
def test_mistyped_claim_is_refused(claim: str, value: Any) -> None:
    payload = {**_payload(issue_token(_claims(), KEY, KID)), claim: value}
    assert _failure_code(_verify(_forge(_header(), payload))) == "token_malformed"


def test_the_terms_claim_round_trips() -> None:
    payload = {**_payload(issue_token(_claims(), KEY, KID)), "gl": _GOOD_TERMS}
    verified = _verify(_forge(_header(), payload))
    assert isinstance(verified, VerifiedToken)
    assert (verified.claims.entries, verified.claims.category, verified.claims.ports) == (
        "multiple",
        "business_visitor",
        ("CNPXG",),
    )
    assert (verified.claims.vehicle_country, verified.claims.vehicle_binding) == (
        "CHN",
        "AAAAAAAAAAAA",
    )


@pytest.mark.parametrize(
    "overrides",
    [{"issuer": "https://other.example"}, {"audience": "greenlane-admin"}],
)
def test_token_for_another_issuer_or_audience_is_refused(overrides: dict[str, str]) -> None:
    token = issue_token(_claims(), KEY, KID)
    assert _failure_code(_verify(token, **overrides)) == "token_malformed"


def test_unknown_claims_are_ignored() -> None:
    payload = {**_payload(issue_token(_claims(), KEY, KID)), "xyz": {"future": True}}
    assert isinstance(_verify(_forge(_header(), payload)), VerifiedToken)


@pytest.mark.parametrize(
    ("expires_at", "code"),
    [
        (NOW - 31, "token_expired"),
        (NOW - 30, "token_expired"),
        (NOW - 29, None),
        (NOW + 1, None),
    ],
)
def test_expiry_allows_thirty_seconds_of_clock_skew(expires_at: int, code: str | None) -> None:
    token = issue_token(_claims(issued_at=NOW - 3600, expires_at=expires_at), KEY, KID)
    result = _verify(token)
    if code is None:
        assert isinstance(result, VerifiedToken)
    else:
        assert _failure_code(result) == code


@pytest.mark.parametrize(
    ("not_before", "code"),
    [
        (NOW + 3600, "token_not_yet_valid"),
        (NOW + 31, "token_not_yet_valid"),
        (NOW + 30, None),
        (NOW, None),
    ],
)
def test_not_before_allows_thirty_seconds_of_clock_skew(not_before: int, code: str | None) -> None:
    token = issue_token(_claims(not_before=not_before), KEY, KID)
    result = _verify(token)
    if code is None:
        assert isinstance(result, VerifiedToken)
    else:
        assert _failure_code(result) == code


@pytest.mark.parametrize(
    "moment",
    [
        NOW - 60 - 31,
        NOW - 60 - 30,
        NOW - 60,
        NOW + 86_400 - 1,
        NOW + 86_400 + 29,
        NOW + 86_400 + 30,
    ],
)
def test_valid_at_is_the_window_verification_admits(moment: int) -> None:
    claims = _claims()  # valid from NOW - 60 to NOW + 86,400
    admitted = isinstance(_verify(issue_token(claims, KEY, KID), now=moment), VerifiedToken)
    assert valid_at(claims, moment) is admitted


def test_leeway_is_the_callers_to_choose() -> None:
    token = issue_token(_claims(expires_at=NOW - 10), KEY, KID)
    assert isinstance(_verify(token), VerifiedToken)
    assert _failure_code(_verify(token, leeway=0)) == "token_expired"


def test_failure_messages_never_quote_the_token() -> None:
    token = issue_token(_claims(), KEY, KID)
    header, payload, signature = token.split(".")
    for candidate in (
        token[:-2],
        f"{header}.{payload}x.{signature}",
        _forge(_header(kid="k" * 60), _payload(token)),
    ):
        result = _verify(candidate)
        assert isinstance(result, TokenFailure)
        assert all(part not in result.message for part in candidate.split("."))
        assert "k" * 60 not in result.message
