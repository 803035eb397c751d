"""What one worker holds while it serves: settings, the database and in-memory state.

:func:`start` builds it in the application's lifespan (never outside: the pool belongs to the
event loop that serves), loads every in-memory view and subscribes them to LISTEN/NOTIFY.
"""

from __future__ import annotations

from dataclasses import dataclass

from greenlane.db.pool import Database, asyncpg_dsn, create_pool
from greenlane.domain.crypto import BlindIndex, FieldCipher
from greenlane.services.clearances import RevocationList
from greenlane.services.client_registry import ClientRegistry
from greenlane.services.keyring import KeyRing, ensure_signing_key
from greenlane.services.live_state import LiveState
from greenlane.services.rate_limit import RateLimiter
from greenlane.services.rules import RuleBook
from greenlane.services.watchlist import Watchlist
from greenlane.settings import Settings


@dataclass(slots=True)
class Runtime:
    settings: Settings
    db: Database
    clients: ClientRegistry
    rate_limiter: RateLimiter
    live: LiveState
    cipher: FieldCipher
    index: BlindIndex
    rules: RuleBook
    watchlist: Watchlist
    keyring: KeyRing
    revocations: RevocationList

    async def reload_all(self) -> None:
        await self.clients.reload_all()
        await self.rules.reload_all()
        await self.watchlist.reload_all()
        await self.keyring.reload_all()
        await self.revocations.reload_all()

    async def stop(self) -> None:
        await self.live.stop()
        await self.db.pool.close()


def data_protection(settings: Settings) -> tuple[FieldCipher, BlindIndex]:
    """The personal-data cipher (every key version, newest active) and the blind index."""
    keys = {version: key.reveal() for version, key in settings.data_keys.items()}
    return FieldCipher(keys, max(keys)), BlindIndex(settings.index_key.reveal())


async def start(settings: Settings, database_url: str) -> Runtime:
    pool = await create_pool(settings, database_url)
    db = Database(pool, settings.db_acquire_timeout)
    kek = settings.key_encryption_key.reveal()
    await ensure_signing_key(db, kek)
    cipher, index = data_protection(settings)
    clients = ClientRegistry(db)
    rules = RuleBook(db)
    watchlist = Watchlist(db)
    keyring = KeyRing(db, kek)
    revocations = RevocationList(db)

    async def reload_rules(_key: str) -> None:
        await rules.reload_all()

    async def reload_watchlist(_key: str) -> None:
        await watchlist.reload_all()

    runtime = Runtime(
        settings=settings,
        db=db,
        clients=clients,
        rate_limiter=RateLimiter(
            {
                "admin": settings.rate_limit_admin,
                "partner": settings.rate_limit_partner,
                "lane": settings.rate_limit_lane,
            }
        ),
        live=LiveState(
            asyncpg_dsn(database_url),
            reload_all=lambda: runtime.reload_all(),
            on_change={
                "clients": clients.reload_one,
                "rules": reload_rules,
                "watchlist": reload_watchlist,
                "keys": keyring.on_change,
                "revocations": revocations.on_change,
            },
            connect_timeout=settings.db_connect_timeout,
        ),
        cipher=cipher,
        index=index,
        rules=rules,
        watchlist=watchlist,
        keyring=keyring,
        revocations=revocations,
    )
    await runtime.live.start()
    return runtime
