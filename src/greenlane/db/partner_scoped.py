"""SQL shared by every table a partner owns: each statement is scoped by ``partner_id``.

A row of another partner is simply absent from every answer, which is what lets the API say
404 for it exactly as for a row that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from greenlane.db.pagination import Cursor, keyset_condition, keyset_params
from greenlane.db.pool import Connection, returning

RECORDED = "created_at, created_by, updated_at, updated_by"


class PartnerRow(Protocol):
    """The columns a caller writes to a :class:`PartnerTable`, and its blind index."""

    def values(self) -> tuple[Any, ...]:
        """The written columns, in the order of ``PartnerTable.written``."""
        ...

    @property
    def lookup(self) -> bytes:
        """The value of the table's ``lookup`` column, unique per partner."""
        ...


@dataclass(frozen=True, slots=True)
class PartnerTable:
    """A table with ``id``, ``partner_id``, ``erased_at`` and the created/updated columns.

    ``written`` names the columns a caller supplies, in the order of its values; ``erasable``
    the columns cleared when the record is erased (personal data).
    """

    name: str
    returned: str
    written: tuple[str, ...]
    erasable: tuple[str, ...]
    lookup: str  # the blind-index column that is unique per partner

    async def insert(
        self,
        conn: Connection,
        row_id: uuid.UUID,
        partner_id: uuid.UUID,
        values: Sequence[Any],
        actor: str,
    ) -> asyncpg.Record:
        placeholders = ", ".join(f"${i}" for i in range(4, 4 + len(values)))
        return await returning(
            conn,
            f"INSERT INTO {self.name} (id, partner_id, created_by, updated_by,"
            f" {', '.join(self.written)}) VALUES ($1, $2, $3, $3, {placeholders})"
            f" RETURNING {self.returned}",
            row_id,
            partner_id,
            actor,
            *values,
        )

    async def update(
        self,
        conn: Connection,
        row_id: uuid.UUID,
        partner_id: uuid.UUID,
        values: Sequence[Any],
        actor: str,
    ) -> asyncpg.Record | None:
        assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(self.written, start=4))
        return await conn.fetchrow(
            f"UPDATE {self.name} SET {assignments}, updated_at = now(), updated_by = $3"
            f" WHERE id = $1 AND partner_id = $2 AND erased_at IS NULL"
            f" RETURNING {self.returned}",
            row_id,
            partner_id,
            actor,
            *values,
        )

    async def get(
        self,
        conn: Connection,
        row_id: uuid.UUID,
        partner_id: uuid.UUID,
        *,
        for_update: bool = False,
    ) -> asyncpg.Record | None:
        lock = " FOR UPDATE" if for_update else ""
        return await conn.fetchrow(
            f"SELECT {self.returned} FROM {self.name}"
            f" WHERE id = $1 AND partner_id = $2 AND erased_at IS NULL{lock}",
            row_id,
            partner_id,
        )

    async def get_any(
        self, conn: Connection, row_id: uuid.UUID, *, for_update: bool = False
    ) -> asyncpg.Record | None:
        """Whoever owns it: for administrators, never for partner routes."""
        lock = " FOR UPDATE" if for_update else ""
        return await conn.fetchrow(
            f"SELECT {self.returned} FROM {self.name} WHERE id = $1 AND erased_at IS NULL{lock}",
            row_id,
        )

    async def find(
        self, conn: Connection, partner_id: uuid.UUID, lookup: bytes
    ) -> uuid.UUID | None:
        """The partner's live record with this blind index, if any."""
        found: uuid.UUID | None = await conn.fetchval(
            f"SELECT id FROM {self.name}"
            f" WHERE partner_id = $1 AND {self.lookup} = $2 AND erased_at IS NULL",
            partner_id,
            lookup,
        )
        return found

    async def page(
        self, conn: Connection, partner_id: uuid.UUID, *, after: Cursor | None, limit: int
    ) -> list[asyncpg.Record]:
        return await conn.fetch(
            f"SELECT {self.returned} FROM {self.name}"
            f" WHERE partner_id = $1 AND erased_at IS NULL AND {keyset_condition(2)}"
            " ORDER BY created_at, id LIMIT $4",
            partner_id,
            *keyset_params(after),
            limit,
        )

    async def erase(
        self,
        conn: Connection,
        row_id: uuid.UUID,
        partner_id: uuid.UUID,
        *,
        actor: str,
        at: datetime,
    ) -> bool:
        """Clear the personal columns; the row stays as a tombstone for what points at it."""
        cleared = ", ".join(f"{name} = NULL" for name in self.erasable)
        status: str = await conn.execute(
            f"UPDATE {self.name} SET {cleared}, erased_at = $3, updated_at = $3,"
            f" updated_by = $4 WHERE id = $1 AND partner_id = $2 AND erased_at IS NULL",
            row_id,
            partner_id,
            at,
            actor,
        )
        return status.endswith(" 1")
