"""Alembic environment: raw-SQL revisions run over asyncpg; no SQLAlchemy models exist."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

target_metadata = None


def sqlalchemy_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return "postgresql+asyncpg://" + rest if scheme in {"postgresql", "postgres"} else url


def run_in_connection(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    url = context.config.attributes.get("database_url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("no database URL: use `greenlane migrate`")
    engine = create_async_engine(sqlalchemy_url(url))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_in_connection)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("greenlane migrations run online only: use `greenlane migrate`")
asyncio.run(run_online())
