"""Status lists at scale: the list served for a million tokens, and what one revocation costs.

    PYTHONPATH=. python bench/status_lists.py [--tokens N] [--revoked-percent P] [--runs R]

A fresh database (on the embedded server under ``.greenlane/``, or on
``GREENLANE_BENCH_DATABASE_URL``) gets one status list of ``GREENLANE_STATUS_LIST_SIZE``
(2**20) entries with ``--tokens`` tokens (1,000,000) at the indices the server would give them,
``--revoked-percent`` (1) of them revoked at random. Then, with the server's own code
(``services.status_lists``):

- **size**: the signed list as ``GET /v1/status-lists/{number}`` serves it, plain and
  gzipped, and the compressed status array inside it (``lst`` before base64url), which is what
  the draft's size table counts. The goal is the draft's own figure for the same bits per
  token, computed here with the draft's method (``src/bench.py`` of
  draft-ietf-oauth-status-list: zlib level 9 over a list of exactly ``--tokens`` entries, each
  revoked with the given probability) at 2 bits; at 1 bit the draft prints 13.7 KB for a
  million tokens and 1 %.
- **one revocation**: the admin's transaction (the status and the list's version), then the
  worker signing the list again (read the statuses, compress, sign, store) and loading it, until
  ``GET`` serves it; median of ``--runs`` (20).
- **the verify hot path**: ``lane_checks.check`` on one token with the status read from the
  million-token list, and with a status function that reads nothing, to show what the look-up
  adds (the end-to-end verify throughput is ``make bench``'s).
- **the clearance token**: its length with the longest issuer allowed, five ports and a vehicle,
  and with one port and no vehicle.

The table printed at the end also goes to ``docs/figures/bench-status-lists.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

from bench import figures
from bench.harness import fresh_database

from greenlane.db.pool import Database, create_pool
from greenlane.domain.clearance_token import (
    LANE_AUDIENCE,
    QR_LIMIT,
    ClearanceClaims,
    document_binding,
    issue_token,
    new_token_id,
    vehicle_binding,
)
from greenlane.domain.lane_checks import Presented, StatusOf, check
from greenlane.domain.status_list import (
    INVALID,
    VALID,
    StatusList,
    StatusListReference,
    list_uri,
    scattered_index,
)
from greenlane.services import status_lists
from greenlane.services.keyring import KeyRing, ensure_signing_key
from greenlane.settings import MAX_ISSUER_LENGTH, PREFIX, SECRET_NAMES, load_settings, new_key_text

ISSUER = "https://gl.example.org"
DRAFT_ONE_BIT_FIGURE = "13.7 KB (1 bit a token, 1 %, 10⁶ tokens)"
CHECKS = 10_000
ROUNDS = 5


def kib(size: int) -> str:
    return f"{size:,} B ({size / 1024:.1f} KiB)"


def draft_reference(tokens: int, rate: float, bits: int, rng: random.Random) -> int:
    """The draft's size-table method: a list of exactly ``tokens`` entries, each INVALID with
    probability ``rate``, zlib level 9."""
    statuses = StatusList(tokens, bits)
    for index in range(tokens):
        if rng.random() < rate:
            statuses.set(index, INVALID)
    return len(zlib.compress(statuses.to_bytes(), 9))


async def seed(
    db: Database, *, size: int, tokens: int, revoked: int, rng: random.Random
) -> list[int]:
    """List 1 with ``tokens`` entries at their scattered indices; returns the valid ones."""
    key = secrets.token_bytes(status_lists.PERMUTATION_KEY_BYTES)
    indices = [scattered_index(key, position, size) for position in range(tokens)]
    gone = set(rng.sample(range(tokens), revoked))
    expires = datetime.now(UTC) + timedelta(days=90)
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM status_list_tokens")
        await conn.execute("DELETE FROM status_lists")
        await conn.execute(
            "INSERT INTO status_lists (id, size, bits, allocated, permutation_key)"
            " VALUES (1, $1, 2, $2, $3)",
            size,
            tokens,
            key,
        )
        await conn.execute("INSERT INTO status_list_tokens (list_id) VALUES (1)")
    async with db.pool.acquire() as conn:  # a plain asyncpg connection: COPY is not in ours
        # A million rows outlast the server's statement timeout and the pool's command timeout;
        # the pool's reset query (RESET ALL) restores the first when the connection goes back.
        await conn.execute("SET statement_timeout = 0")
        await conn.copy_records_to_table(
            "token_statuses",
            records=(
                (1, idx, INVALID if position in gone else VALID, expires)
                for position, idx in enumerate(indices)
            ),
            columns=("list_id", "idx", "status", "expires_at"),
            timeout=600,
        )
    return [idx for position, idx in enumerate(indices) if position not in gone]


def check_rate(token: str, status_of: StatusOf, keys: dict[str, object]) -> float:
    """Checks per second of ``lane_checks.check`` on one token, ``CHECKS`` times."""
    presented = Presented(document_number="E12345678", issuing_state="CHN")
    now, today = int(time.time()), date.today()
    started = time.perf_counter()
    for _ in range(CHECKS):
        check(
            token,
            lane_port="THBKK",
            presented=presented,
            keys=keys,  # type: ignore[arg-type]
            issuer=ISSUER,
            audience=LANE_AUDIENCE,
            revoked=(),
            status_of=status_of,
            now=now,
            today=today,
        )
    return CHECKS / (time.perf_counter() - started)


def token_lengths(private_key: object, kid: str) -> tuple[int, int]:
    """The clearance token's length at its longest and in the common case."""

    def token(issuer: str, ports: Sequence[str], vehicle: bool) -> str:
        jti = new_token_id()
        claims = ClearanceClaims(
            issuer=issuer,
            clearance_id=str(uuid.uuid4()),
            audience=LANE_AUDIENCE,
            issued_at=int(time.time()),
            not_before=int(time.time()),
            expires_at=int(time.time()) + 86_400 * 90,
            token_id=jti,
            ports=tuple(ports),
            entries="single",
            category="intra_corporate_transferee",
            nationality="CHN",
            document_binding=document_binding(jti, "CHN", "E12345678"),
            status=StatusListReference(idx=1_048_575, uri=list_uri(issuer, 9_999)),
            vehicle_binding=vehicle_binding(jti, "CHN", "A12345") if vehicle else None,
            vehicle_country="CHN" if vehicle else None,
        )
        return issue_token(claims, private_key, kid)  # type: ignore[arg-type]

    longest = "https://" + "g" * (MAX_ISSUER_LENGTH - len("https://"))
    five = ("CNPXG", "THBKK", "VNHAN", "LAVTE", "MMRGN")
    return len(token(longest, five, True)), len(token(ISSUER, five[:1], False))


async def measure(url: str, args: argparse.Namespace) -> list[tuple[str, str, str]]:
    env = {PREFIX + name: new_key_text() for name in SECRET_NAMES}
    env[PREFIX + "DATA_KEYS"] = "1:" + env[PREFIX + "DATA_KEYS"]
    settings = load_settings({**env, PREFIX + "DATABASE_URL": url, PREFIX + "ISSUER": ISSUER})
    rng = random.Random(20261204)
    pool = await create_pool(settings, url)
    try:
        db = Database(pool, 5.0)
        kek = settings.key_encryption_key.reveal()
        await ensure_signing_key(db, kek)
        keyring = KeyRing(db, kek)
        await keyring.reload_all()
        revoked = round(args.tokens * args.revoked_percent / 100)
        seeded = time.perf_counter()
        valid = await seed(
            db, size=settings.status_list_size, tokens=args.tokens, revoked=revoked, rng=rng
        )
        seeding = time.perf_counter() - seeded
        lists = status_lists.PublishedLists(
            db, keyring, issuer=ISSUER, ttl=settings.status_list_ttl
        )
        first = time.perf_counter()
        await lists.sync()
        first_sign = time.perf_counter() - first
        served = lists.served[1]
        lst_bytes = len(served.statuses.compressed())
        reference = draft_reference(args.tokens, revoked / args.tokens, 2, rng)

        commits: list[float] = []
        publishes: list[float] = []
        for idx in rng.sample(valid, args.runs):
            started = time.perf_counter()
            async with db.transaction() as conn:  # what the admin's revocation adds
                await status_lists.set_status(conn, 1, idx, INVALID)
            committed = time.perf_counter()
            await lists.sync()
            assert lists.served[1].statuses.get(idx) == INVALID
            commits.append(committed - started)
            publishes.append(time.perf_counter() - committed)
        totals = [c + p for c, p in zip(commits, publishes, strict=True)]

        signer = keyring.signer
        assert signer is not None
        longest, common = token_lengths(signer.private_key, signer.kid)
        sample = _sample_token(signer.private_key, signer.kid, valid[0])
        keys: dict[str, object] = dict(keyring.verification)
        without: Callable[[StatusListReference], int] = lambda _reference: VALID  # noqa: E731
        # Interleaved rounds, the best of each: what differs is the look-up, not the moment.
        rates: dict[str, list[float]] = {"lists": [], "nothing": []}
        for _ in range(ROUNDS):
            rates["lists"].append(check_rate(sample, lists.status_of, keys))
            rates["nothing"].append(check_rate(sample, without, keys))
        with_lists, reading_nothing = max(rates["lists"]), max(rates["nothing"])
    finally:
        await pool.close()

    ms = 1000
    return [
        (
            "workload",
            f"{args.tokens:,} tokens in a list of {settings.status_list_size:,} entries, "
            f"2 bits each; {revoked:,} revoked ({args.revoked_percent:g} %), at random "
            f"(seeded in {seeding:.1f} s)",
            "",
        ),
        (
            "served list (`GET /v1/status-lists/{number}`), plain",
            kib(len(served.token)),
            "",
        ),
        (
            "served list, gzipped (`Accept-Encoding: gzip`)",
            kib(len(served.gzipped)),
            "",
        ),
        (
            "compressed status array in it (`lst` before base64url)",
            kib(lst_bytes),
            f"≤ {kib(reference)}: the draft's method at 2 bits; {DRAFT_ONE_BIT_FIGURE}",
        ),
        (
            "one revocation: the admin's transaction",
            f"{statistics.median(commits) * ms:.1f} ms (median of {args.runs})",
            "",
        ),
        (
            "one revocation: signed again and served by the worker",
            f"{statistics.median(publishes) * ms:.1f} ms (median of {args.runs}; "
            f"max {max(publishes) * ms:.1f} ms)",
            "",
        ),
        (
            "one revocation, commit to served",
            f"{statistics.median(totals) * ms:.1f} ms",
            "< 1 s on every worker",
        ),
        ("first signature of the list (start)", f"{first_sign * ms:.0f} ms", ""),
        (
            f"`lane_checks.check`, status read from the list (best of {ROUNDS} rounds)",
            f"{with_lists:,.0f} /s ({1e6 / with_lists:.1f} µs)",
            "no loss against the next row",
        ),
        (
            "`lane_checks.check`, status function reading nothing",
            f"{reading_nothing:,.0f} /s ({1e6 / reading_nothing:.1f} µs)",
            "",
        ),
        (
            f"clearance token, {MAX_ISSUER_LENGTH}-character issuer, 5 ports and a vehicle",
            f"{longest} characters",
            f"< {QR_LIMIT}",
        ),
        (
            f"clearance token, {len(ISSUER)}-character issuer, 1 port, no vehicle",
            f"{common} characters",
            f"< {QR_LIMIT}",
        ),
    ]


def _sample_token(private_key: object, kid: str, idx: int) -> str:
    jti = new_token_id()
    now = int(time.time())
    claims = ClearanceClaims(
        issuer=ISSUER,
        clearance_id=str(uuid.uuid4()),
        audience=LANE_AUDIENCE,
        issued_at=now,
        not_before=now - 60,
        expires_at=now + 86_400,
        token_id=jti,
        ports=("THBKK",),
        entries="multiple",
        category="business_visitor",
        nationality="CHN",
        document_binding=document_binding(jti, "CHN", "E12345678"),
        status=StatusListReference(idx=idx, uri=list_uri(ISSUER, 1)),
    )
    return issue_token(claims, private_key, kid)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--revoked-percent", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with fresh_database("bench_status") as url:
        rows = asyncio.run(measure(url, args))
    print(figures.markdown_table(figures.STATUS_LISTS.columns, rows))
    path = figures.write(figures.STATUS_LISTS, rows)
    print(f"\nwritten to {path.relative_to(figures.ROOT)}")


if __name__ == "__main__":
    main()
