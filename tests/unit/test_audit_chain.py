import hashlib
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest

from greenlane.domain.audit_chain import (
    GENESIS,
    AuditEntry,
    AuditEntryError,
    ChainWalk,
    canonical_entry,
    chain_hash,
)

START = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def _entries(count: int = 5) -> list[AuditEntry]:
    return [
        AuditEntry(
            id=number,
            at=START + timedelta(seconds=number, microseconds=number),
            actor=f"client-{number % 2}",
            action="clearance.revoke" if number % 2 else "rule.update",
            subject=str(number * 100) if number % 3 else None,
            details={"reason": f"reason {number}", "version": number},
        )
        for number in range(1, count + 1)
    ]


def _chain(entries: list[AuditEntry]) -> list[tuple[AuditEntry, bytes]]:
    chained = []
    previous = GENESIS
    for entry in entries:
        previous = chain_hash(previous, entry)
        chained.append((entry, previous))
    return chained


def first_bad(chained: list[tuple[AuditEntry, bytes]], pieces: int = 1) -> int | None:
    """Walk ``chained`` fed in ``pieces`` parts, as the service feeds it page by page."""
    walk = ChainWalk()
    size = max(1, -(-len(chained) // pieces))
    for start in range(0, len(chained), size):
        walk.feed(chained[start : start + size])
    assert walk.entries == len(chained)
    return walk.first_bad


def test_canonical_entry_is_sorted_compact_utf8_json() -> None:
    entry = AuditEntry(
        id=7,
        at=datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
        actor="admin-1",
        action="rule.update",
        subject=None,
        details={"note": "Nguyễn", "b": [1, True, None], "a": {"z": 1, "y": "2"}},
    )
    assert (
        canonical_entry(entry)
        == (
            '{"action":"rule.update","actor":"admin-1","at":"2026-11-26T09:30:00.000000Z",'
            '"details":{"a":{"y":"2","z":1},"b":[1,true,null],"note":"Nguyễn"},'
            '"id":7,"subject":null}'
        ).encode()
    )


def test_canonical_entry_does_not_depend_on_key_order_or_mapping_type() -> None:
    entry = _entries(1)[0]
    reordered = replace(
        entry, details=MappingProxyType(dict(reversed(list(entry.details.items()))))
    )
    assert canonical_entry(reordered) == canonical_entry(entry)


def test_canonical_entry_writes_every_time_in_utc() -> None:
    bangkok = timezone(timedelta(hours=7))
    entry = replace(_entries(1)[0], at=datetime(2026, 11, 26, 16, 30, 0, 5, tzinfo=bangkok))
    assert b'"at":"2026-11-26T09:30:00.000005Z"' in canonical_entry(entry)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"at": datetime(2026, 11, 26, 9, 30)}, "at"),
        ({"details": {"amount": math.nan}}, "details"),
        ({"details": {"when": START}}, "details"),
        ({"details": {1: "mixed", "a": "key types"}}, "details"),
    ],
)
def test_entries_that_cannot_be_hashed_reproducibly_are_refused(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(AuditEntryError) as caught:
        canonical_entry(replace(_entries(1)[0], **changes))
    assert caught.value.field == field


def test_chain_hash_is_sha256_of_previous_and_entry() -> None:
    entry = _entries(1)[0]
    assert chain_hash(GENESIS, entry) == hashlib.sha256(bytes(32) + canonical_entry(entry)).digest()
    assert chain_hash(b"\x01" * 32, entry) != chain_hash(GENESIS, entry)


def test_intact_chain_has_no_bad_entry() -> None:
    assert first_bad(_chain(_entries())) is None
    assert first_bad([]) is None


@pytest.mark.parametrize(
    "edit",
    [
        {"details": {"reason": "nothing to see", "version": 3}},
        {"details": {"reason": "reason 3", "version": 4}},
        {"actor": "client-9"},
        {"action": "rule.delete"},
        {"subject": "999"},
        {"at": START + timedelta(seconds=3)},
        {"id": 33},
    ],
)
def test_edited_entry_is_found(edit: dict[str, Any]) -> None:
    chained = _chain(_entries())
    entry, stored = chained[2]
    chained[2] = (replace(entry, **edit), stored)
    assert first_bad(chained) == chained[2][0].id


def test_rehashed_edit_is_found_at_the_next_entry() -> None:
    # Someone who edits an entry and recomputes its hash still breaks the link after it.
    chained = _chain(_entries())
    edited = replace(chained[2][0], actor="client-9")
    chained[2] = (edited, chain_hash(chained[1][1], edited))
    assert first_bad(chained) == 4


def test_deleted_middle_entry_is_found_at_the_next_entry() -> None:
    chained = _chain(_entries())
    del chained[2]
    assert first_bad(chained) == 4


def test_deleted_first_entry_is_found() -> None:
    chained = _chain(_entries())
    del chained[0]
    assert first_bad(chained) == 2


def test_reordered_entries_are_found() -> None:
    chained = _chain(_entries())
    chained[1], chained[3] = chained[3], chained[1]
    assert first_bad(chained) == 4


def test_swapped_contents_under_kept_ids_are_found() -> None:
    chained = _chain(_entries())
    (second, second_hash), (third, third_hash) = chained[1], chained[2]
    chained[1] = (replace(third, id=2), second_hash)
    chained[2] = (replace(second, id=3), third_hash)
    assert first_bad(chained) == 2


def test_a_chain_fed_in_pieces_is_judged_as_a_whole() -> None:
    intact = _chain(_entries(7))
    rehashed = _chain(_entries(7))
    edited = replace(rehashed[2][0], actor="client-9")
    rehashed[2] = (edited, chain_hash(rehashed[1][1], edited))
    for pieces in range(1, 8):
        assert first_bad(intact, pieces) is None
        assert first_bad(rehashed, pieces) == 4
