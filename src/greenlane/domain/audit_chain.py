"""The hash chain that makes the audit log tamper-evident.

Each entry's stored hash is ``SHA-256(previous hash ‖ canonical entry)``, starting from
:data:`GENESIS`. Editing an entry changes its hash; deleting one breaks the link of the entry
after it. What a chain cannot show on its own is the loss of its newest entries, so whoever
verifies it should also compare the head against a count or hash kept elsewhere.

The id is part of what is hashed, so it must be assigned before the hash is computed.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = bytes(32)


class AuditEntryError(ValueError):
    """An entry that cannot be hashed reproducibly."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.code = "invalid_audit_entry"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str | None
    details: Mapping[str, Any]


def canonical_entry(entry: AuditEntry) -> bytes:
    """Sorted-key, whitespace-free UTF-8 JSON with the time as ``...T09:30:00.000000Z``.

    ``details`` should hold only strings, integers, booleans, null, lists and objects: the
    hash is recomputed from what the database gives back, and floats may not survive that trip
    digit for digit.
    """
    if entry.at.tzinfo is None:
        raise AuditEntryError("at", "must carry a time zone")
    document = {
        "id": entry.id,
        "at": entry.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "details": entry.details,
    }
    try:
        text = json.dumps(
            document,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=_mapping_as_dict,
        )
    except (TypeError, ValueError) as error:
        raise AuditEntryError("details", "must be plain JSON") from error
    return text.encode("utf-8")


def _mapping_as_dict(value: object) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(type(value).__name__)


def chain_hash(previous: bytes, entry: AuditEntry) -> bytes:
    return hashlib.sha256(previous + canonical_entry(entry)).digest()


@dataclass(slots=True)
class ChainWalk:
    """Checks a chain fed in id order, in as many pieces as it comes, so a long log need not
    fit in memory.

    ``first_bad`` is the id of the first entry whose stored hash does not follow the chain: an
    edited entry, or the one after a deleted entry. An entry out of order fails like any other
    broken link. ``entries`` counts every entry fed, after a bad one too.
    """

    first_bad: int | None = None
    entries: int = 0
    _previous: bytes = GENESIS

    def feed(self, entries: Iterable[tuple[AuditEntry, bytes]]) -> None:
        for entry, stored in entries:
            self.entries += 1
            if self.first_bad is not None:
                continue
            expected = chain_hash(self._previous, entry)
            if stored == expected:
                self._previous = expected
            else:
                self.first_bad = entry.id
