"""Today: the lanes, the verifications of the last hour, the keys, the review queue, the trips
expected at the ports and how fresh the peer agencies' data is."""

from __future__ import annotations

from litestar import get
from litestar.response import Template

from greenlane.console.chart import COLOURS, draw
from greenlane.console.context import ConsoleDep
from greenlane.console.gate import area
from greenlane.console.render import page
from greenlane.services import overview


@get("/", summary="Today", opt=area("today"))
async def today(console: ConsoleDep) -> Template:
    verifier = console.runtime.verifier
    found = await overview.today(
        console.db,
        verify_mode="online" if verifier.degraded_since is None else "degraded",
        spool_depth=verifier.spool_depth,
    )
    return page(
        "today.html",
        console.staff,
        section="today",
        overview=found,
        chart=draw(found.minutes),
        colours=COLOURS,
        trips_hours=int(overview.TRIPS_AHEAD.total_seconds()) // 3600,
    )
