"""Travellers (drivers included) registered by partner apps.

A PATCH is merged into the stored registration and the result is checked exactly as a new
registration would be (``domain.registration.check_traveller``), against the MRZ on file when
there is one. A change to who the traveller is (``identity_changes``) decides their live
applications again in the same transaction. The birth date, the MRZ and the document and
licence numbers are stored only as ciphertext; the numbers are found through a blind index and
answered masked, and the MRZ is never answered.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import asyncpg
import msgspec

from greenlane.db import clearances as clearances_db
from greenlane.db import travellers as travellers_db
from greenlane.db.pagination import decode_cursor, next_cursor
from greenlane.db.pool import Connection, Database
from greenlane.domain.documents import mask_number
from greenlane.domain.lookups import document_index
from greenlane.domain.registration import CheckedTraveller, check_traveller, identity_changes
from greenlane.services import applications, audit, clearances, partner_records
from greenlane.services.applications import Deciding
from greenlane.services.context import Caller, Protection
from greenlane.services.live_state import notify
from greenlane.services.partner_records import PartnerRecords, merged
from greenlane.wire.applications import Application
from greenlane.wire.common import Page
from greenlane.wire.lifecycle import DocumentReplaced, DocumentReplacement
from greenlane.wire.registration import (
    DocumentIn,
    DocumentOut,
    DrivingLicenceOut,
    EmployerOut,
    Traveller,
    TravellerChange,
    TravellerCreate,
    TravellerPatch,
)

TRAVELLERS = PartnerRecords(
    table=travellers_db.TABLE, name="traveller", route="travellers", registers="document"
)


def _today() -> date:
    return datetime.now(UTC).date()


def _row(
    checked: CheckedTraveller, traveller_id: uuid.UUID, p: Protection
) -> travellers_db.TravellerRow:
    def seal(column: str, text: str) -> bytes:
        return travellers_db.seal(p.cipher, traveller_id, column, text)

    document = checked.document
    licence = checked.driving_licence
    return travellers_db.TravellerRow(
        category=checked.category,
        given_names=checked.given_names,
        surname=checked.surname,
        sex=checked.sex,
        nationality=checked.nationality,
        date_of_birth_enc=seal("date_of_birth_enc", checked.date_of_birth.isoformat()),
        document_type=document.type,
        document_issuing_state=document.issuing_state,
        document_number_enc=seal("document_number_enc", document.number),
        document_number_masked=mask_number(document.number),
        document_index=document_index(p.index, document.issuing_state, document.number),
        document_expiry=document.expiry_date,
        employer_name=checked.employer_name,
        employer_country=checked.employer_country,
        licence_number_enc=seal("licence_number_enc", licence.number) if licence else None,
        licence_number_masked=mask_number(licence.number) if licence else None,
        licence_issuing_state=licence.issuing_state if licence else None,
        licence_classes=list(licence.classes) if licence else None,
        licence_expiry=licence.expiry_date if licence else None,
        mrz_enc=seal("mrz_enc", checked.mrz) if checked.mrz is not None else None,
    )


def traveller_from_row(row: asyncpg.Record, p: Protection) -> Traveller:
    """The answer: numbers masked, the birth date decrypted."""
    licence = None
    if row["licence_number_masked"] is not None:
        licence = DrivingLicenceOut(
            number=row["licence_number_masked"],
            issuing_state=row["licence_issuing_state"],
            classes=list(row["licence_classes"]),
            expiry_date=row["licence_expiry"],
        )
    return Traveller(
        id=row["id"],
        given_names=row["given_names"],
        surname=row["surname"],
        date_of_birth=date.fromisoformat(travellers_db.unseal(p.cipher, row, "date_of_birth_enc")),
        sex=row["sex"],
        nationality=row["nationality"],
        document=DocumentOut(
            type=row["document_type"],
            number=row["document_number_masked"],
            issuing_state=row["document_issuing_state"],
            expiry_date=row["document_expiry"],
        ),
        category=row["category"],
        employer=EmployerOut(name=row["employer_name"], country=row["employer_country"]),
        driving_licence=licence,
        created_at=row["created_at"],
        created_by=row["created_by"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


def stored_traveller_from_row(row: asyncpg.Record, p: Protection) -> TravellerCreate:
    """The registration as the partner sent it (numbers and MRZ decrypted), for merging a
    PATCH."""
    licence = None
    if row["licence_number_enc"] is not None:
        licence = {
            "number": travellers_db.unseal(p.cipher, row, "licence_number_enc"),
            "issuing_state": row["licence_issuing_state"],
            "classes": list(row["licence_classes"]),
            "expiry_date": row["licence_expiry"],
        }
    return msgspec.convert(
        {
            "given_names": row["given_names"],
            "surname": row["surname"],
            "date_of_birth": travellers_db.unseal(p.cipher, row, "date_of_birth_enc"),
            "sex": row["sex"],
            "nationality": row["nationality"],
            "document": {
                "type": row["document_type"],
                "number": travellers_db.unseal(p.cipher, row, "document_number_enc"),
                "issuing_state": row["document_issuing_state"],
                "expiry_date": row["document_expiry"],
            },
            "category": row["category"],
            "employer": {"name": row["employer_name"], "country": row["employer_country"]},
            "driving_licence": licence,
            "mrz": (
                travellers_db.unseal(p.cipher, row, "mrz_enc")
                if row["mrz_enc"] is not None
                else None
            ),
        },
        TravellerCreate,
    )


async def register_traveller(
    db: Database,
    p: Protection,
    caller: Caller,
    data: TravellerCreate,
    idempotency_key: str | None,
) -> tuple[Traveller, bool]:
    checked = check_traveller(data, _today())
    traveller_id = uuid.uuid4()

    async def create(conn: Connection) -> Traveller:
        row = _row(checked, traveller_id, p)
        record = await partner_records.insert_unique(conn, TRAVELLERS, caller, traveller_id, row)
        return traveller_from_row(record, p)

    return await partner_records.create_idempotent(
        db, p, caller, TRAVELLERS, idempotency_key, data, Traveller, create
    )


async def get_traveller(
    db: Database, p: Protection, caller: Caller, traveller_id: uuid.UUID
) -> Traveller:
    async with db.connection() as conn:
        row = await partner_records.own(conn, TRAVELLERS, caller, traveller_id)
    return traveller_from_row(row, p)


async def list_travellers(
    db: Database, p: Protection, caller: Caller, *, cursor: str | None, limit: int
) -> Page[Traveller]:
    after = decode_cursor(cursor)
    async with db.connection() as conn:
        rows = await TRAVELLERS.table.page(conn, caller.partner_id, after=after, limit=limit)
    return Page([traveller_from_row(r, p) for r in rows], next_cursor(rows, limit))


async def update_traveller(
    d: Deciding, p: Protection, caller: Caller, traveller_id: uuid.UUID, patch: TravellerPatch
) -> TravellerChange:
    """Store the merged registration; a change of identity is audited (the fields' names only)
    and decides the traveller's live applications again, all in one transaction."""
    async with d.db.transaction() as conn:
        return await update_traveller_in(conn, d, p, caller, traveller_id, patch)


async def update_traveller_in(
    conn: Connection,
    d: Deciding,
    p: Protection,
    caller: Caller,
    traveller_id: uuid.UUID,
    patch: TravellerPatch,
) -> TravellerChange:
    """:func:`update_traveller` in the caller's transaction (an answer to a request for
    information carries one)."""
    redecided: list[Application] = []
    current = await partner_records.own(conn, TRAVELLERS, caller, traveller_id, for_update=True)
    stored = stored_traveller_from_row(current, p)
    checked = check_traveller(merged(stored, patch, TravellerCreate), _today())
    changed = identity_changes(stored, checked)
    row = _row(checked, traveller_id, p)
    record = await partner_records.update_unique(conn, TRAVELLERS, caller, traveller_id, row)
    if changed:
        subject = str(traveller_id)
        redecided = await applications.redecide(conn, d, traveller_id, actor=caller.actor)
        # After the redecision's revocations: the order of db/locks.py.
        details = {"fields": list(changed)}
        await audit.record(conn, caller.actor, "traveller.identity_change", subject, details)
        await notify(conn, "watchlist", subject)  # false-hit marks follow the new document
    traveller = traveller_from_row(record, p)
    return TravellerChange(**msgspec.structs.asdict(traveller), redecided=redecided)


async def replace_document(
    d: Deciding,
    p: Protection,
    caller: Caller,
    traveller_id: uuid.UUID,
    replacement: DocumentReplacement,
) -> DocumentReplaced:
    """A new travel document for the same person (a renewed passport), checked like a new
    registration; every active clearance is issued again bound to it and its old token revoked.

    All in one transaction: a lane sees either the old tokens valid and the new ones unknown, or
    the old ones revoked and the new ones issued, never both or neither. The decisions stand:
    who the traveller is has not changed (a new MRZ must agree with every identity field), so
    each clearance keeps its application, ports, window and the single entries already used.
    """
    async with d.db.transaction() as conn:
        current = await partner_records.own(conn, TRAVELLERS, caller, traveller_id, for_update=True)
        stored = stored_traveller_from_row(current, p)
        renewed = msgspec.structs.replace(
            stored,
            document=msgspec.convert(msgspec.to_builtins(replacement.document), DocumentIn),
            mrz=replacement.mrz,
        )
        checked = check_traveller(renewed, _today())
        row = _row(checked, traveller_id, p)
        record = await partner_records.update_unique(conn, TRAVELLERS, caller, traveller_id, row)
        olds = await clearances_db.active_of_traveller(conn, traveller_id, datetime.now(UTC))
        reissued = await applications.reissue(conn, d, olds, record, actor=caller.actor)
        # After the revocations: the order of db/locks.py.
        subject = str(traveller_id)
        await audit.record(conn, caller.actor, "traveller.document_replace", subject, {})
        await notify(conn, "watchlist", subject)  # false-hit marks follow the new document
    traveller = traveller_from_row(record, p)
    return DocumentReplaced(**msgspec.structs.asdict(traveller), reissued=reissued)


async def erase_traveller(db: Database, caller: Caller, traveller_id: uuid.UUID) -> None:
    """Erase the personal data and revoke the traveller's clearances; the audit entry keeps
    only that it happened."""

    async def revoke_clearances(conn: Connection) -> None:
        await clearances.revoke_all_of_traveller(
            conn, traveller_id, actor=caller.actor, reason="traveller erased"
        )

    await partner_records.erase(db, TRAVELLERS, caller, traveller_id, then=revoke_clearances)
