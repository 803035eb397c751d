"""Transactions one database committed during each run, from ``pg_stat_database.xact_commit``.

PostgreSQL (15 and later) publishes a backend's counts at most once a second while it is busy,
and an idle backend's last ones up to ten seconds after its last transaction. So the count is
read before each run that touches the database, once it has been quiet that long, and a run's
transactions are the difference to the next reading. The wait mostly overlaps the runs against
the other system and the runs that do not touch this database. (A transaction that touches no
table, such as a pool's reset query, is published with the backend's next one that does: a
run's last resets ride with its last batch.)
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

PUBLISHED_WITHIN = 11.0  # seconds: PGSTAT_IDLE_INTERVAL, and a margin


class Commits:
    def __init__(self, server_url: str, database: str) -> None:
        self._server_url = server_url  # another database's: reading does not count here
        self._database = database
        self._readings: list[int] = []
        self._quiet_since = time.monotonic()

    def before_run(self) -> int:
        """Read the count, once the previous runs' transactions are all in it; returns the
        reading's index, for ``during``. Call ``after_run`` when the run is over."""
        time.sleep(max(0.0, self._quiet_since + PUBLISHED_WITHIN - time.monotonic()))
        self._readings.append(asyncio.run(self._read()))
        return len(self._readings) - 1

    def after_run(self) -> None:
        self._quiet_since = time.monotonic()

    def finish(self) -> None:
        """The last reading, after the last run."""
        self.before_run()

    def during(self, index: int) -> int:
        """Transactions committed from reading ``index`` to the next."""
        return self._readings[index + 1] - self._readings[index]

    async def _read(self) -> int:
        conn = await asyncpg.connect(self._server_url)
        try:
            count: int = await conn.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", self._database
            )
            return count
        finally:
            await conn.close()
