"""Rotation of the personal-data keys: re-encrypt what an older key version wrote.

Rotating is two steps: append a new version to ``GREENLANE_DATA_KEYS`` (new writes use the
highest version at once, old values stay readable), then run ``greenlane data rewrap`` to
re-encrypt every older value; after that the old version can be removed from the setting.
"""

from __future__ import annotations

from dataclasses import dataclass

from greenlane.db.pool import Database
from greenlane.domain.crypto import FieldCipher


@dataclass(frozen=True, slots=True)
class EncryptedTable:
    name: str
    row_id: str  # the SQL expression that the cipher's associated data binds as the row id
    key: str  # a unique, orderable key to page through the table
    columns: tuple[str, ...]


ENCRYPTED = (
    EncryptedTable(
        "travellers",
        "id::text",
        "id::text",
        ("date_of_birth_enc", "document_number_enc", "licence_number_enc"),
    ),
    EncryptedTable(
        "idempotency_keys",
        "partner_id::text || ':' || key",
        "partner_id::text || ':' || key",
        ("body_enc",),
    ),
)
BATCH = 500


async def rewrap(db: Database, cipher: FieldCipher) -> dict[str, int]:
    """Re-encrypt, under the active key, every value written under an older one."""
    counts: dict[str, int] = {}
    for table in ENCRYPTED:
        counts[table.name] = 0
        after = ""
        while True:
            async with db.transaction() as conn:
                rows = await conn.fetch(
                    f"SELECT {table.key} AS page_key, {table.row_id} AS row_id,"
                    f" {', '.join(table.columns)} FROM {table.name}"
                    f" WHERE {table.key} > $1 ORDER BY {table.key} LIMIT {BATCH} FOR UPDATE",
                    after,
                )
                for row in rows:
                    for column in table.columns:
                        blob = row[column]
                        if blob is None or not cipher.needs_rewrap(bytes(blob)):
                            continue
                        context = {"table": table.name, "column": column, "row_id": row["row_id"]}
                        fresh = cipher.encrypt(cipher.decrypt(bytes(blob), **context), **context)
                        await conn.execute(
                            f"UPDATE {table.name} SET {column} = $1 WHERE {table.key} = $2",
                            fresh,
                            row["page_key"],
                        )
                        counts[table.name] += 1
            if len(rows) < BATCH:
                break
            after = rows[-1]["page_key"]
    return counts
