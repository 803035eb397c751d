"""How long a trip token is for 1, 4, 10 and 20 people, and the QR symbol each needs.

The token is issued exactly as the server issues it (``domain.trip_token.issue_trip_token``,
ES256 under a fresh P-256 key) with the longest issuer the settings accept, every status list
entry (the trip token's own and each member's clearance's) at the longest it is written in the
first 9,999 lists, and every member of a category with the longest code, so every length is an
upper bound for a real deployment. Each token is drawn as the API draws it
(``services.clearances.qr_code``: error correction M, never raised): the table gives the QR
version and modules a side. A one-person clearance token is measured the same way for
comparison.

    PYTHONPATH=. python bench/trip_tokens.py

The table printed also goes to ``docs/figures/trip_tokens.md``.
"""

from __future__ import annotations

import sys
import time
import uuid

import segno
from bench import figures

from greenlane.domain.clearance_token import (
    CATEGORY_CODES,
    LANE_AUDIENCE,
    ClearanceClaims,
    document_binding,
    issue_token,
    new_token_id,
)
from greenlane.domain.signing_keys import new_signing_key, thumbprint_kid
from greenlane.domain.status_list import StatusListReference, list_uri
from greenlane.domain.trip_token import (
    Role,
    TripClaims,
    TripMember,
    issue_trip_token,
    member_binding,
    trip_vehicle_binding,
)
from greenlane.services.clearances import QR_ERROR_CORRECTION
from greenlane.settings import MAX_ISSUER_LENGTH

ISSUER = "https://" + "g" * (MAX_ISSUER_LENGTH - len("https://"))
PEOPLE = (1, 4, 10, 20)
NOW = int(time.time())
KEY = new_signing_key()
KID = thumbprint_kid(KEY.public_key())
# The longest entry: list 9,999, the last index of a list of the default size (2**20).
LONGEST_STATUS = StatusListReference(idx=1_048_575, uri=list_uri(ISSUER, 9_999))
# A category whose code is as long as any (three letters).
LONGEST_CATEGORY = max(CATEGORY_CODES, key=lambda category: len(CATEGORY_CODES[category]))


def trip_token(people: int) -> str:
    jti = new_token_id()
    passengers: list[Role] = ["passenger"] * max(0, people - 2)
    roles: list[Role] = ["driver", "co_driver", *passengers][:people]
    members = tuple(
        TripMember(
            role=role,
            entries="multiple",
            category=LONGEST_CATEGORY,
            clearance_id=str(uuid.uuid4()),
            document_binding=member_binding(jti, "THA", f"AA{index:07d}"),
            status=LONGEST_STATUS,
        )
        for index, role in enumerate(roles)
    )
    claims = TripClaims(
        issuer=ISSUER,
        trip_id=str(uuid.uuid4()),
        audience=LANE_AUDIENCE,
        issued_at=NOW,
        not_before=NOW - 4 * 3600,
        expires_at=NOW + 4 * 3600,
        token_id=jti,
        port="THSKA",
        direction="entry",
        vehicle_binding=trip_vehicle_binding(jti, "THA", "701234"),
        vehicle_country="THA",
        members=members,
        status=LONGEST_STATUS,
    )
    return issue_trip_token(claims, KEY, KID)


def clearance_token() -> str:
    jti = new_token_id()
    claims = ClearanceClaims(
        issuer=ISSUER,
        clearance_id=str(uuid.uuid4()),
        audience=LANE_AUDIENCE,
        issued_at=NOW,
        not_before=NOW,
        expires_at=NOW + 7 * 86_400,
        token_id=jti,
        ports=("THSKA",),
        entries="multiple",
        category="commercial_driver",
        nationality="THA",
        document_binding=document_binding(jti, "THA", "AA0000001"),
        status=LONGEST_STATUS,
    )
    return issue_token(claims, KEY, KID)


def row(what: str, token: str) -> list[str]:
    symbol = segno.make_qr(token, error=QR_ERROR_CORRECTION, boost_error=False)
    side = symbol.symbol_size(border=0)[0]
    return [
        what,
        f"{len(token)}",
        f"{symbol.version}",
        f"{symbol.error}",
        f"{side}x{side}",
    ]


def main() -> None:
    rows = [row("clearance token, 1 person (for comparison)", clearance_token())]
    rows += [
        row(f"trip token, {n} {'person' if n == 1 else 'people'}", trip_token(n)) for n in PEOPLE
    ]
    path = figures.write(figures.TRIP_TOKENS, rows)
    print(figures.markdown_table(figures.TRIP_TOKENS.columns, rows))
    print(f"written to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
