"""The record the lane hot path writes and the SQL type that reads it name the same fields."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from greenlane.domain.verification import MemberRecord, VerificationRecord
from tests.conftest import run
from tests.database import connect

# How each annotation of the Struct is stored in ``gl_verification`` (revision 0008).
SQL_TYPES: dict[object, str] = {
    uuid.UUID: "uuid",
    uuid.UUID | None: "uuid",
    str: "text",
    bool: "boolean",
    int: "integer",
    datetime: "timestamp with time zone",
    tuple[str, ...]: "text[]",
    tuple[MemberRecord, ...]: "jsonb",  # a trip's members (migration 0015_trips)
}


def sql_type(annotation: object) -> str:
    return SQL_TYPES.get(annotation, "text")  # the Literal fields: direction, decision, mode


def test_the_struct_and_the_sql_type_name_the_same_fields(database_url: str) -> None:
    async def attributes() -> dict[str, str]:
        conn = await connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type"
                " FROM pg_attribute a JOIN pg_type t ON t.typrelid = a.attrelid"
                " WHERE t.typname = 'gl_verification' AND a.attnum > 0 AND NOT a.attisdropped"
            )
        finally:
            await conn.close()
        return {row["attname"]: row["type"] for row in rows}

    fields = {f.encode_name: sql_type(f.type) for f in msgspec.structs.fields(VerificationRecord)}
    assert run(attributes()) == fields
