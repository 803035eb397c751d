import base64
import hashlib
import hmac
import string

import pytest

from greenlane.domain.crypto import (
    BlindIndex,
    DecryptionError,
    FieldCipher,
    KeyMaterialError,
    encode_parts,
    hash_client_secret,
    new_secret,
    parse_key,
    parse_versioned_keys,
    verify_client_secret,
)

KEY_1 = bytes(range(32))
KEY_2 = bytes(range(32, 64))
PLACE = {"table": "travellers", "column": "document_number", "row_id": "row-1"}


def test_field_cipher_round_trip_and_layout() -> None:
    cipher = FieldCipher({1: KEY_1}, active_version=1)
    blob = cipher.encrypt("E1234567", **PLACE)
    assert blob[:2] == b"\x00\x01"
    assert len(blob) == 2 + 12 + len("E1234567") + 16
    assert b"E1234567" not in blob
    assert cipher.decrypt(blob, **PLACE) == "E1234567"


def test_field_cipher_round_trips_non_ascii() -> None:
    cipher = FieldCipher({1: KEY_1}, active_version=1)
    assert cipher.decrypt(cipher.encrypt("Nguyễn 王", **PLACE), **PLACE) == "Nguyễn 王"


def test_field_cipher_uses_a_fresh_nonce_each_time() -> None:
    cipher = FieldCipher({1: KEY_1}, active_version=1)
    assert cipher.encrypt("E1234567", **PLACE) != cipher.encrypt("E1234567", **PLACE)


@pytest.mark.parametrize(
    "elsewhere",
    [
        {**PLACE, "row_id": "row-2"},
        {**PLACE, "column": "licence_number"},
        {**PLACE, "table": "vehicles"},
        # Without length prefixes these two would authenticate the same bytes.
        {"table": "travellers", "column": "document_numberrow-1", "row_id": ""},
    ],
)
def test_ciphertext_moved_elsewhere_fails(elsewhere: dict[str, str]) -> None:
    cipher = FieldCipher({1: KEY_1}, active_version=1)
    blob = cipher.encrypt("E1234567", **PLACE)
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, **elsewhere)


@pytest.mark.parametrize("position", [0, 1, 2, 13, 14, -1])
def test_tampered_ciphertext_fails(position: int) -> None:
    cipher = FieldCipher({1: KEY_1, 2: KEY_2}, active_version=1)
    blob = bytearray(cipher.encrypt("E1234567", **PLACE))
    blob[position] ^= 0x01
    with pytest.raises(DecryptionError):
        cipher.decrypt(bytes(blob), **PLACE)


@pytest.mark.parametrize("blob", [b"", b"\x00", b"\x00\x01" + bytes(27)])
def test_truncated_ciphertext_fails(blob: bytes) -> None:
    cipher = FieldCipher({1: KEY_1}, active_version=1)
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, **PLACE)


def test_decryption_error_says_nothing_about_the_value() -> None:
    cipher = FieldCipher({1: KEY_1}, active_version=1)
    blob = cipher.encrypt("E1234567", **PLACE)
    with pytest.raises(DecryptionError) as caught:
        cipher.decrypt(blob, **{**PLACE, "row_id": "row-2"})
    assert "E1234567" not in str(caught.value)
    assert caught.value.code == "decryption_failed"


def test_rotation_keeps_old_ciphertexts_readable_and_flags_them() -> None:
    old_blob = FieldCipher({1: KEY_1}, active_version=1).encrypt("E1234567", **PLACE)
    rotated = FieldCipher({1: KEY_1, 2: KEY_2}, active_version=2)
    new_blob = rotated.encrypt("E1234567", **PLACE)
    assert rotated.decrypt(old_blob, **PLACE) == "E1234567"
    assert rotated.needs_rewrap(old_blob)
    assert not rotated.needs_rewrap(new_blob)
    assert new_blob[:2] == b"\x00\x02"


def test_ciphertext_under_a_retired_key_fails() -> None:
    blob = FieldCipher({1: KEY_1}, active_version=1).encrypt("E1234567", **PLACE)
    with pytest.raises(DecryptionError):
        FieldCipher({2: KEY_2}, active_version=2).decrypt(blob, **PLACE)


def test_relabelled_key_version_fails() -> None:
    # The same key under two versions: only the associated data can tell them apart.
    cipher = FieldCipher({1: KEY_1, 2: KEY_1}, active_version=1)
    blob = cipher.encrypt("E1234567", **PLACE)
    with pytest.raises(DecryptionError):
        cipher.decrypt(b"\x00\x02" + blob[2:], **PLACE)


@pytest.mark.parametrize(
    ("keys", "active"),
    [
        ({}, 1),
        ({1: bytes(31)}, 1),
        ({1: bytes(33)}, 1),
        ({1: KEY_1}, 2),
        ({0: KEY_1}, 0),
        ({65536: KEY_1}, 65536),
    ],
)
def test_field_cipher_refuses_bad_keys(keys: dict[int, bytes], active: int) -> None:
    with pytest.raises(KeyMaterialError):
        FieldCipher(keys, active_version=active)


def test_blind_index_is_deterministic_and_keyed() -> None:
    index = BlindIndex(KEY_1)
    digest = index.digest("document", "CHN", "E1234567")
    assert digest == index.digest("document", "CHN", "E1234567")
    assert len(digest) == 32
    assert digest != BlindIndex(KEY_2).digest("document", "CHN", "E1234567")
    assert digest == hmac.new(KEY_1, encode_parts("document", "CHN", "E1234567"), "sha256").digest()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("document", "CHN", "E1234567"), ("plate", "CHN", "E1234567")),
        (("document", "CHN", "E1234567"), ("document", "CH", "NE1234567")),
        (("document", "CHN", "E1234567"), ("document", "CHNE1234567")),
        (("document", "CHN", "E1234567"), ("document", "THA", "E1234567")),
    ],
)
def test_blind_index_separates_labels_and_parts(
    first: tuple[str, ...], second: tuple[str, ...]
) -> None:
    index = BlindIndex(KEY_1)
    assert index.digest(*first) != index.digest(*second)


def test_blind_index_refuses_a_short_key() -> None:
    with pytest.raises(KeyMaterialError):
        BlindIndex(bytes(16))


def test_encode_parts_prefixes_lengths() -> None:
    assert encode_parts("ab", "") == b"\x00\x00\x00\x02ab\x00\x00\x00\x00"
    assert encode_parts("é") == b"\x00\x00\x00\x02\xc3\xa9"


@pytest.mark.parametrize(
    "text",
    [
        KEY_1.hex(),
        KEY_1.hex().upper(),
        base64.b64encode(KEY_1).decode(),
        base64.b64encode(KEY_1).decode().rstrip("="),
        base64.urlsafe_b64encode(KEY_1).decode(),
        base64.urlsafe_b64encode(KEY_1).decode().rstrip("="),
        f"  {KEY_1.hex()}\n",
    ],
)
def test_parse_key_accepts_hex_and_base64(text: str) -> None:
    assert parse_key(text, name="GREENLANE_INDEX_KEY") == KEY_1


def test_parse_key_accepts_both_base64_alphabets() -> None:
    key = bytes([0xFB, 0xFF] * 16)  # encodes to '+' and '/' in standard base64
    assert "+" in base64.b64encode(key).decode()
    assert parse_key(base64.b64encode(key).decode(), name="K") == key
    assert parse_key(base64.urlsafe_b64encode(key).decode(), name="K") == key


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a key at all",
        bytes(31).hex(),
        bytes(33).hex(),
        base64.b64encode(bytes(31)).decode(),
        base64.b64encode(b"\xff" * 48).decode(),
        KEY_1.hex()[:-1] + "g",
        base64.b64encode(KEY_1).decode() + "==",
        base64.b64encode(KEY_1).decode()[:-2] + "*=",
    ],
)
def test_parse_key_refuses_bad_keys_without_echoing_them(text: str) -> None:
    with pytest.raises(KeyMaterialError) as caught:
        parse_key(text, name="GREENLANE_INDEX_KEY")
    assert caught.value.field == "GREENLANE_INDEX_KEY"
    assert "GREENLANE_INDEX_KEY" in str(caught.value)
    if text.strip():
        assert text.strip() not in str(caught.value)


def test_parse_versioned_keys_picks_the_highest_version() -> None:
    text = f"1:{KEY_1.hex()}, 3:{base64.b64encode(KEY_2).decode()}"
    keys, active = parse_versioned_keys(text, name="GREENLANE_DATA_KEYS")
    assert keys == {1: KEY_1, 3: KEY_2}
    assert active == 3


@pytest.mark.parametrize(
    "text",
    [
        "",
        KEY_1.hex(),
        f"x:{KEY_1.hex()}",
        f"0:{KEY_1.hex()}",
        f"65536:{KEY_1.hex()}",
        f"-1:{KEY_1.hex()}",
        f"1:{KEY_1.hex()},1:{KEY_2.hex()}",
        f"1:{KEY_1.hex()},",
        "1:short",
    ],
)
def test_parse_versioned_keys_refuses_bad_settings(text: str) -> None:
    with pytest.raises(KeyMaterialError) as caught:
        parse_versioned_keys(text, name="GREENLANE_DATA_KEYS")
    assert caught.value.field.startswith("GREENLANE_DATA_KEYS")
    assert KEY_1.hex() not in str(caught.value)


def test_new_secret_is_random_and_urlsafe() -> None:
    made = {new_secret() for _ in range(50)}
    assert len(made) == 50
    for secret in made:
        assert len(base64.urlsafe_b64decode(secret + "=")) == 32
        assert set(secret) <= set(string.ascii_letters + string.digits + "-_")


def test_client_secret_hash_verifies_only_the_right_secret_and_pepper() -> None:
    secret = new_secret()
    stored = hash_client_secret(secret, KEY_1)
    assert stored == hmac.new(KEY_1, secret.encode(), hashlib.sha256).digest()
    assert secret.encode() not in stored
    assert verify_client_secret(secret, stored, KEY_1)
    assert not verify_client_secret(secret + "x", stored, KEY_1)
    assert not verify_client_secret(secret, stored, KEY_2)
    assert not verify_client_secret(secret, stored[:-1], KEY_1)


def test_client_secret_hash_refuses_a_short_pepper() -> None:
    with pytest.raises(KeyMaterialError):
        hash_client_secret(new_secret(), b"pepper")
