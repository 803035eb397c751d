"""Who acts, and the keys that protect what they send: handed to use cases by the API layer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from greenlane.domain.crypto import BlindIndex, FieldCipher


@dataclass(frozen=True, slots=True)
class Caller:
    """A partner client acting: the only source of the partner id for partner use cases."""

    partner_id: uuid.UUID
    actor: str


@dataclass(frozen=True, slots=True)
class Protection:
    """The personal-data cipher and the blind index that finds a record without decrypting."""

    cipher: FieldCipher
    index: BlindIndex
