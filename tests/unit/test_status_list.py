"""Token Status Lists: the draft's own vectors byte for byte, and what a reader refuses."""

from __future__ import annotations

import base64
import json
import zlib

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from greenlane.domain.clearance_token import public_keys
from greenlane.domain.crypto import base64url
from greenlane.domain.jws import TokenFailure
from greenlane.domain.status_list import (
    INVALID,
    MAX_ENTRIES,
    SUSPENDED,
    VALID,
    StatusList,
    StatusListError,
    VerifiedStatusList,
    list_number,
    list_uri,
    scattered_index,
    sign_status_list,
    verify_status_list,
)
from tests.unit import status_list_vectors as v

NOW = 1_800_000_000


def _list(size: int, bits: int, statuses: dict[int, int]) -> StatusList:
    made = StatusList(size, bits)
    for index, status in statuses.items():
        made.set(index, status)
    return made


def test_the_one_bit_example_of_section_4_1_byte_for_byte() -> None:
    made = _list(16, 1, dict(enumerate(v.ONE_BIT_STATUSES)))
    assert made.to_bytes() == v.ONE_BIT_BYTES
    assert made.compressed().hex() == v.ONE_BIT_COMPRESSED_HEX
    assert made.encode() == v.ONE_BIT_LST
    read = StatusList.decode(v.ONE_BIT_LST, 1)
    assert [read.get(i) for i in range(16)] == list(v.ONE_BIT_STATUSES)


def test_the_two_bit_example_of_section_4_1_byte_for_byte() -> None:
    made = _list(12, 2, dict(enumerate(v.TWO_BIT_STATUSES)))
    assert made.to_bytes() == v.TWO_BIT_BYTES
    assert made.compressed().hex() == v.TWO_BIT_COMPRESSED_HEX
    assert made.encode() == v.TWO_BIT_LST
    read = StatusList.decode(v.TWO_BIT_LST, 2)
    assert [read.get(i) for i in range(12)] == list(v.TWO_BIT_STATUSES)


@pytest.mark.parametrize(
    ("bits", "statuses", "lst"),
    [
        (1, v.LONG_ONE_BIT, v.LONG_ONE_BIT_LST),
        (2, v.LONG_TWO_BIT, v.LONG_TWO_BIT_LST),
        (4, v.LONG_FOUR_BIT, v.LONG_FOUR_BIT_LST),
    ],
)
def test_the_appendix_vectors_encode_and_decode_byte_for_byte(
    bits: int, statuses: dict[int, int], lst: str
) -> None:
    assert _list(v.LONG_SIZE, bits, statuses).encode() == lst
    read = StatusList.decode(lst, bits)
    assert read.size == v.LONG_SIZE
    set_somewhere = {i: read.get(i) for i in statuses}
    assert set_somewhere == statuses
    assert read.get(1) == VALID  # every index the draft does not name is VALID
    assert read.get(v.LONG_SIZE - 1) == VALID


def test_the_eight_bit_appendix_vector_decodes_and_encodes_again_unchanged() -> None:
    read = StatusList.decode(v.LONG_EIGHT_BIT_LST, 8)
    assert read.size == v.LONG_SIZE
    assert read.encode() == v.LONG_EIGHT_BIT_LST


def test_the_drafts_status_list_token_verifies_with_its_example_key() -> None:
    keys = public_keys([v.JWT_EXAMPLE_KEY])
    verified = verify_status_list(
        v.JWT_EXAMPLE, keys=keys, uri=v.JWT_EXAMPLE_URI, now=NOW, leeway=30
    )
    assert isinstance(verified, VerifiedStatusList)
    assert (verified.kid, verified.issued_at, verified.expires_at, verified.ttl) == (
        "12",
        v.JWT_EXAMPLE_IAT,
        v.JWT_EXAMPLE_EXP,
        v.JWT_EXAMPLE_TTL,
    )
    assert [verified.statuses.get(i) for i in range(16)] == list(v.ONE_BIT_STATUSES)


def test_an_index_outside_the_list_has_no_status() -> None:
    statuses = StatusList(16, 2)
    with pytest.raises(IndexError):
        statuses.get(16)
    with pytest.raises(IndexError):
        statuses.get(-1)
    with pytest.raises(IndexError):
        statuses.set(16, INVALID)


def test_a_status_too_wide_for_the_bits_is_refused() -> None:
    with pytest.raises(StatusListError):
        StatusList(8, 1).set(0, SUSPENDED)
    with pytest.raises(StatusListError):
        StatusList(8, 3)


def test_setting_one_status_leaves_its_neighbours_alone() -> None:
    statuses = StatusList(8, 2)
    for index in range(8):
        statuses.set(index, 3)
    statuses.set(5, SUSPENDED)
    statuses.set(2, VALID)
    assert [statuses.get(i) for i in range(8)] == [3, 3, 0, 3, 3, 2, 3, 3]


@pytest.mark.parametrize(
    "lst",
    [
        "not base64!",
        "eNrbuRgAAhcBXQ==",  # padded
        "eNrbuRgAAhcBXR",  # a second spelling of the same bytes
        base64url(b"not zlib at all"),
        base64url(zlib.compress(b"\x00" * 64)[:-3]),  # truncated stream
        "",
    ],
)
def test_a_list_that_cannot_be_read_is_refused(lst: str) -> None:
    with pytest.raises(StatusListError):
        StatusList.decode(lst, 2)


def test_a_list_that_inflates_past_the_limit_is_refused_without_inflating_it() -> None:
    bomb = base64url(zlib.compress(b"\x00" * (MAX_ENTRIES // 4 + 1), 9))
    with pytest.raises(StatusListError, match="more than"):
        StatusList.decode(bomb, 2)
    assert StatusList.decode(base64url(zlib.compress(b"\x00" * 16)), 2, max_entries=64).size == 64


def test_our_list_uris_and_their_numbers() -> None:
    issuer = "https://gl.example"
    assert list_uri(issuer, 7) == "https://gl.example/v1/status-lists/7"
    assert list_number(issuer, list_uri(issuer, 7)) == 7
    for foreign in (
        "https://other.example/v1/status-lists/7",
        "https://gl.example/v1/status-lists/07",
        "https://gl.example/v1/status-lists/0",
        "https://gl.example/v1/status-lists/7/",
        "https://gl.example/v1/status-lists/-7",
        "https://gl.example/v1/status-lists/٣",  # a digit, but not an ASCII one
        "https://gl.example/v1/status-lists/1234567890",
        "https://gl.example/v1/status-lists/",
    ):
        assert list_number(issuer, foreign) is None, foreign


@pytest.mark.parametrize("size", [16, 32, 1024, 2**15])
def test_scattered_indices_are_a_permutation_of_the_list(size: int) -> None:
    key = b"k" * 32
    indices = [scattered_index(key, position, size) for position in range(size)]
    assert sorted(indices) == list(range(size))
    assert indices != list(range(size))
    assert indices != [scattered_index(b"j" * 32, p, size) for p in range(size)]


def test_scattered_index_refuses_what_it_cannot_permute() -> None:
    for size, position in ((24, 0), (16, 16), (16, -1), (1, 0)):
        with pytest.raises(ValueError, match="power of two"):
            scattered_index(b"k", position, size)


# --- signed lists ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signer() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _keys(private: ec.EllipticCurvePrivateKey) -> dict[str, ec.EllipticCurvePublicKey]:
    return {"k1": private.public_key()}


def _sign(private: ec.EllipticCurvePrivateKey, *, exp: int = NOW + 600) -> str:
    return sign_status_list(
        _list(64, 2, {3: INVALID, 9: SUSPENDED}),
        uri="https://gl.example/v1/status-lists/1",
        issued_at=NOW - 10,
        expires_at=exp,
        ttl=300,
        private_key=private,
        kid="k1",
    )


def test_a_signed_list_says_what_the_draft_requires(signer: ec.EllipticCurvePrivateKey) -> None:
    token = _sign(signer)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": "k1", "typ": "statuslist+jwt"}
    claims = jwt.decode(
        token,
        signer.public_key(),
        algorithms=["ES256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["sub"] == "https://gl.example/v1/status-lists/1"
    assert (claims["iat"], claims["exp"], claims["ttl"]) == (NOW - 10, NOW + 600, 300)
    assert claims["status_list"]["bits"] == 2
    verified = verify_status_list(token, keys=_keys(signer), uri=claims["sub"], now=NOW, leeway=30)
    assert isinstance(verified, VerifiedStatusList)
    assert (verified.statuses.get(3), verified.statuses.get(9), verified.statuses.get(4)) == (
        INVALID,
        SUSPENDED,
        VALID,
    )


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["status_list"]["lst"] = StatusList(64, 2).encode()  # every token VALID again
    forged = base64url(json.dumps(claims).encode())
    return f"{header}.{forged}.{signature}"


def test_a_reader_refuses_what_it_must(signer: ec.EllipticCurvePrivateKey) -> None:
    uri = "https://gl.example/v1/status-lists/1"
    keys = _keys(signer)
    other = ec.generate_private_key(ec.SECP256R1())

    def failure(token: str, *, asked: str = uri, now: int = NOW) -> str:
        found = verify_status_list(token, keys=keys, uri=asked, now=now, leeway=30)
        assert isinstance(found, TokenFailure)
        return found.code

    assert failure(_tampered(_sign(signer))) == "signature_invalid"
    assert failure(_sign(other)) == "signature_invalid"
    assert failure(_sign(signer), asked="https://gl.example/v1/status-lists/2") == (
        "token_malformed"
    )
    assert failure(_sign(signer, exp=NOW - 100)) == "token_expired"
    wrong_type = jwt.encode(
        {"sub": uri, "iat": NOW}, signer, algorithm="ES256", headers={"kid": "k1"}
    )
    assert failure(wrong_type) == "token_malformed"
    no_list = jwt.encode(
        {"sub": uri, "iat": NOW},
        signer,
        algorithm="ES256",
        headers={"kid": "k1", "typ": "statuslist+jwt"},
    )
    assert failure(no_list) == "token_malformed"
    bad_bits = jwt.encode(
        {"sub": uri, "iat": NOW, "status_list": {"bits": 3, "lst": StatusList(8, 1).encode()}},
        signer,
        algorithm="ES256",
        headers={"kid": "k1", "typ": "statuslist+jwt"},
    )
    assert failure(bad_bits) == "token_malformed"
    zero_ttl = jwt.encode(
        {
            "sub": uri,
            "iat": NOW,
            "ttl": 0,
            "status_list": {"bits": 2, "lst": StatusList(8, 2).encode()},
        },
        signer,
        algorithm="ES256",
        headers={"kid": "k1", "typ": "statuslist+jwt"},
    )
    assert failure(zero_ttl) == "token_malformed"
    assert failure("not a token") == "token_malformed"
