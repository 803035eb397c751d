"""Keys, field encryption, blind indexes and client-secret hashes.

Personal data is stored encrypted per field, with the table, column and row bound into the
ciphertext, so that a database user who can move bytes around still cannot make one
traveller's passport number appear on another traveller's row. Equality lookups on encrypted
values (duplicate documents, the watchlist) go through a keyed blind index instead of the
plaintext.

Error messages name the setting or field at fault and never repeat a key, secret or plaintext.
"""

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
MAX_KEY_VERSION = 0xFFFF

_NONCE_BYTES = 12
_TAG_BYTES = 16
_VERSION_HEADER = struct.Struct(">H")
_PART_LENGTH = struct.Struct(">I")

_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
_BASE64_KEY = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_KEY_VERSION = re.compile(r"[0-9]{1,5}")
_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")
# A compact JWS: header, payload and signature, each unpadded base64url. Tokens must have one
# spelling (PyJWT also decodes padded or standard-alphabet ones): caches are keyed by the text.
COMPACT_JWS = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")


class KeyMaterialError(ValueError):
    """A key, or a key setting, that cannot be used; ``field`` names it."""

    code = "invalid_key"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DecryptionError(ValueError):
    """A ciphertext that does not open: wrong key, wrong place, truncated or tampered.

    Deliberately without detail: which of those it was is of use only to an attacker.
    """

    code = "decryption_failed"

    def __init__(self) -> None:
        super().__init__("the ciphertext could not be decrypted")


def base64url(data: bytes) -> str:
    """Base64url without padding, the encoding of JOSE (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def encode_parts(*parts: str) -> bytes:
    """Each part's UTF-8 bytes behind a 4-byte big-endian length.

    Plain concatenation would make ``("ab", "c")`` and ``("a", "bc")`` hash, or authenticate,
    alike; a length prefix cannot be confused whatever characters the parts contain.
    """
    encoded = bytearray()
    for part in parts:
        data = part.encode("utf-8")
        encoded += _PART_LENGTH.pack(len(data))
        encoded += data
    return bytes(encoded)


def require_key(key: bytes, *, name: str) -> bytes:
    """``key`` itself if it is a 256-bit key, else :class:`KeyMaterialError` naming ``name``."""
    if len(key) != KEY_BYTES:
        raise KeyMaterialError(name, f"must be exactly {KEY_BYTES} bytes")
    return key


def seal(aead: AESGCM, plaintext: bytes, associated_data: bytes) -> bytes:
    """``nonce ‖ ciphertext ‖ tag`` under a fresh random 96-bit nonce.

    Random nonces are safe here for far more than the 2**32 messages per key that NIST allows,
    which is why field keys are rotated by version rather than counted.
    """
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return nonce + aead.encrypt(nonce, plaintext, associated_data)


def open_sealed(aead: AESGCM, blob: bytes, associated_data: bytes) -> bytes:
    """The plaintext of a :func:`seal` result, or :class:`DecryptionError`."""
    if len(blob) < _NONCE_BYTES + _TAG_BYTES:
        raise DecryptionError
    try:
        return aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], associated_data)
    except InvalidTag:
        raise DecryptionError from None


def parse_key(text: str, *, name: str) -> bytes:
    """A 32-byte key written as base64 (standard or URL-safe, padded or not) or 64 hex digits."""
    candidate = text.strip()
    key = bytes.fromhex(candidate) if _HEX_KEY.fullmatch(candidate) else _decode_base64(candidate)
    if key is None or len(key) != KEY_BYTES:
        raise KeyMaterialError(
            name, f"must be {KEY_BYTES} bytes written as base64 or as 64 hex digits"
        )
    return key


def _decode_base64(text: str) -> bytes | None:
    if not _BASE64_KEY.fullmatch(text):
        return None
    unpadded = text.rstrip("=").translate(_URLSAFE_TO_STANDARD)
    try:
        return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
    except binascii.Error:
        return None


def parse_versioned_keys(text: str, *, name: str) -> tuple[dict[int, bytes], int]:
    """``"1:<key>,2:<key>"``: every key still needed to read old data, and the active version.

    The highest version is the active one, so rotating is appending a key; nothing else in
    the setting has to change.
    """
    keys: dict[int, bytes] = {}
    for item in text.split(","):
        version_text, separator, key_text = item.strip().partition(":")
        if not separator or not _KEY_VERSION.fullmatch(version_text):
            raise KeyMaterialError(name, "must look like 1:<key>,2:<key>")
        version = int(version_text)
        _check_version(version, name=name)
        if version in keys:
            raise KeyMaterialError(name, f"key version {version} appears twice")
        keys[version] = parse_key(key_text, name=f"{name} version {version}")
    return keys, max(keys)


def _check_version(version: int, *, name: str) -> None:
    if not 1 <= version <= MAX_KEY_VERSION:
        raise KeyMaterialError(name, f"key versions run from 1 to {MAX_KEY_VERSION}")


class FieldCipher:
    """AES-256-GCM for single column values, with versioned keys for rotation.

    A ciphertext is ``version (2 bytes, big-endian) ‖ nonce (12) ‖ ciphertext ‖ tag (16)``. The
    associated data binds table, column, row id and key version, so a value copied to another
    row or column, or relabelled with another key version, fails to decrypt.
    """

    def __init__(self, keys: Mapping[int, bytes], active_version: int) -> None:
        if not keys:
            raise KeyMaterialError("field keys", "at least one key is required")
        for version, key in keys.items():
            _check_version(version, name="field keys")
            require_key(key, name=f"field key version {version}")
        if active_version not in keys:
            raise KeyMaterialError("field keys", "the active version has no key")
        self._ciphers = {version: AESGCM(key) for version, key in keys.items()}
        self._active_version = active_version

    def encrypt(self, plaintext: str, *, table: str, column: str, row_id: str) -> bytes:
        version = self._active_version
        associated_data = _field_context(version, table, column, row_id)
        sealed = seal(self._ciphers[version], plaintext.encode("utf-8"), associated_data)
        return _VERSION_HEADER.pack(version) + sealed

    def decrypt(self, blob: bytes, *, table: str, column: str, row_id: str) -> str:
        version = _key_version(blob)
        cipher = self._ciphers.get(version)
        if cipher is None:
            raise DecryptionError
        associated_data = _field_context(version, table, column, row_id)
        plaintext = open_sealed(cipher, blob[_VERSION_HEADER.size :], associated_data)
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError from None

    def needs_rewrap(self, blob: bytes) -> bool:
        """Whether ``blob`` was written under a key other than the active one."""
        return _key_version(blob) != self._active_version


def _key_version(blob: bytes) -> int:
    if len(blob) < _VERSION_HEADER.size:
        raise DecryptionError
    (version,) = _VERSION_HEADER.unpack_from(blob)
    return int(version)


def _field_context(version: int, table: str, column: str, row_id: str) -> bytes:
    return encode_parts(table, column, row_id, str(version))


class BlindIndex:
    """HMAC-SHA256 over length-prefixed parts: equality lookups without the plaintext.

    The first part is a label (``"document"``, ``"plate"``, ...) so that a value indexed as one
    kind of thing never matches the same characters indexed as another.
    """

    def __init__(self, key: bytes) -> None:
        self._key = require_key(key, name="blind index key")

    def digest(self, label: str, *parts: str) -> bytes:
        return hmac.new(self._key, encode_parts(label, *parts), hashlib.sha256).digest()


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret of ``nbytes`` random bytes."""
    return secrets.token_urlsafe(nbytes)


# Client secrets are 32 random bytes made by new_secret, never chosen by people. A slow password
# hash (bcrypt, scrypt, Argon2) exists to make guessing low-entropy passwords expensive; against
# 256 bits of entropy guessing is hopeless at any speed, so it would only add latency to every
# token request. What does matter: a keyed hash, so a leaked table cannot be tested offline
# without the pepper, and a constant-time comparison.


def hash_client_secret(secret: str, pepper: bytes) -> bytes:
    """HMAC-SHA256 of the secret under the server-side pepper."""
    key = require_key(pepper, name="client secret pepper")
    return hmac.new(key, secret.encode("utf-8"), hashlib.sha256).digest()


def verify_client_secret(secret: str, stored: bytes, pepper: bytes) -> bool:
    return hmac.compare_digest(hash_client_secret(secret, pepper), stored)
