"""The table of ``bench/verify.py``: a column per system, medians of the rounds, and the goals.

Goals are issue 20's. A CPU split is the one of the round whose total is the median, so that its
parts add up; every other figure is the median of its own rounds.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import astuple, dataclass

from bench.commits import Commits
from bench.cpu import Split
from bench.wrk import Result

SATURATION = "saturation"
LIVE = "live"
TRIP = "trip"  # greenlane's 4-person trips at saturation
LOADS = (0.25, 0.5)  # fractions of each system's own saturation rate
UNMEASURED = "—"


def load(fraction: float) -> str:
    return f"{fraction:.0%}".replace("%", " %")


@dataclass(frozen=True, slots=True)
class Measured:
    """One run: what wrk counted, and the CPU seconds spent during it."""

    run: Result
    cpu: Split
    reading: int | None  # greenlane's transaction count before it (Commits.during)


Runs = Mapping[str, Mapping[str, Sequence[Measured]]]  # system, then load: a run per round


def median_rate(measured: Sequence[Measured]) -> float:
    return statistics.median(m.run.rate for m in measured)


@dataclass(frozen=True, slots=True)
class Summary:
    rate: float
    low: float
    high: float
    p50: float
    p99: float
    p999: float
    cpu: Split  # seconds per verification
    per_transaction: float | None
    answers: int
    greens: int
    errors: int


def summarise(measured: Sequence[Measured], commits: Commits | None) -> Summary:
    rates = [m.run.rate for m in measured]
    transactions = [
        m.run.requests / commits.during(m.reading)
        for m in measured
        if commits is not None and m.reading is not None
    ]
    by_cpu = sorted((m.cpu.per(m.run.requests) for m in measured), key=lambda split: split.total)
    return Summary(
        rate=statistics.median(rates),
        low=min(rates),
        high=max(rates),
        p50=statistics.median(m.run.p50 for m in measured),
        p99=statistics.median(m.run.p99 for m in measured),
        p999=statistics.median(m.run.p999 for m in measured),
        cpu=by_cpu[(len(by_cpu) - 1) // 2],
        per_transaction=statistics.median(transactions) if transactions else None,
        answers=sum(m.run.requests for m in measured),
        greens=sum(m.run.greens for m in measured),
        errors=sum(m.run.errors for m in measured),
    )


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}"


@dataclass(frozen=True, slots=True)
class Shown:
    """How a figure is written for one system, and how greenlane's compares with the peer's."""

    value: Callable[[Summary], str]
    compare: Callable[[Summary, Summary], str]


RATE = Shown(
    lambda s: f"{s.rate:,.0f} /s ({s.low:,.0f} to {s.high:,.0f})",
    lambda g, p: ratio(g.rate, p.rate),
)
CPU = Shown(
    lambda s: (
        " + ".join(f"{part * 1e6:,.0f}" for part in astuple(s.cpu)) + f" = {s.cpu.total * 1e6:,.0f}"
    ),
    lambda g, p: ratio(g.cpu.total, p.cpu.total),
)
LATENCY = Shown(
    lambda s: f"{s.p50:.1f} / {s.p99:.1f} / {s.p999:.1f} ms",
    lambda g, p: f"p50 {ratio(g.p50, p.p50)}, p99 {ratio(g.p99, p.p99)}",
)
Row = tuple[str, str, str, str, str]


def rows(
    runs: Runs,
    commits: Commits,
    *,
    crossings: tuple[int, int],
    greenlane_only: Sequence[tuple[str, str]],
) -> list[Row]:
    """The table. ``crossings`` is (stored, green answers sent); ``greenlane_only`` are further
    (figure, value) rows that have no peer counterpart."""
    mine = {key: summarise(measured, commits) for key, measured in runs["greenlane"].items()}
    theirs = {key: summarise(measured, None) for key, measured in runs.get("peer", {}).items()}

    def both(figure: str, key: str, shown: Shown, goal: str = "") -> Row:
        g, p = mine[key], theirs.get(key)
        if p is None:
            return (figure, shown.value(g), UNMEASURED, UNMEASURED, goal)
        return (figure, shown.value(g), shown.value(p), shown.compare(g, p), goal)

    def asked(summaries: dict[str, Summary], fraction: float) -> str:
        if not summaries:
            return UNMEASURED
        wanted = fraction * summaries[SATURATION].rate
        return f"{wanted:,.0f} → {summaries[load(fraction)].rate:,.0f} /s"

    cpu_split = "CPU-µs per verification: workers + PostgreSQL + wrk"
    table = [
        both(
            "verifies/s at saturation (closed loop)", SATURATION, RATE, "at least twice the peer's"
        ),
        both(f"{cpu_split}, at saturation", SATURATION, CPU, "at most half the peer's"),
        both("latency at saturation: p50 / p99 / p99.9", SATURATION, LATENCY),
        *trip_rows(mine, cpu_split),
    ]
    for fraction in LOADS:
        at = load(fraction)
        goal = "p50, p99 ≤ peer's" + ("; p99 ≤ 10 ms, p99.9 ≤ 25 ms" if fraction == 0.5 else "")
        table += [
            (f"{at}: verifies/s asked → answered", asked(mine, fraction),
             asked(theirs, fraction), "", ""),
            both(f"latency at {at}: p50 / p99 / p99.9", at, LATENCY, goal),
            both(f"{cpu_split}, at {at}", at, CPU),
        ]  # fmt: skip
    for key in (SATURATION, *map(load, LOADS)):
        transactions = mine[key].per_transaction
        table.append(
            (f"greenlane's verifications per PostgreSQL transaction at {key}",
             UNMEASURED if transactions is None else f"{transactions:.1f}", UNMEASURED, "",
             "≥ 4" if key == load(0.5) else "")
        )  # fmt: skip
    stored, sent = crossings
    table += [
        both("`GET /health/live` (the framework's floor), closed loop", LIVE, RATE),
        both("`GET /health/live`: CPU-µs per request", LIVE, CPU),
        ("green answers ÷ verifications answered, all runs above", greens(mine),
         greens(theirs) if theirs else UNMEASURED, "", "1.000"),
        ("(e) crossings stored ÷ green answers sent",
         f"{stored / sent:.3f} ({stored:,} / {sent:,})", UNMEASURED, "", "1.000"),
        *((figure, value, UNMEASURED, "", "") for figure, value in greenlane_only),
    ]  # fmt: skip
    if not theirs:
        figure, value, _, ratio, goal = table[0]
        table[0] = (figure, value, "absent: greenlane alone", ratio, goal)
    return table


def trip_rows(mine: Mapping[str, Summary], cpu_split: str) -> list[Row]:
    """greenlane's 4-person trips beside its single verifies of the same rounds: a trip checks
    one signature for four people, so its goal is at most 1.5 times one verify's cost."""
    trip = mine.get(TRIP)
    if trip is None:
        return []
    single = mine[SATURATION]
    return [
        ("4-person trips/s at saturation (`POST /v1/verify/trip`, closed loop)",
         RATE.value(trip), UNMEASURED, "", ""),
        ("a 4-person trip's cost ÷ one verify's (verifies/s ÷ trips/s, same rounds)",
         ratio(single.rate, trip.rate), UNMEASURED, "", "≤ 1.5"),
        (f"{cpu_split}, per 4-person trip at saturation", CPU.value(trip), UNMEASURED, "", ""),
        ("latency of a 4-person trip at saturation: p50 / p99 / p99.9", LATENCY.value(trip),
         UNMEASURED, "", ""),
    ]  # fmt: skip


def greens(summaries: Mapping[str, Summary]) -> str:
    verifying = [s for key, s in summaries.items() if key != LIVE]
    answered = sum(s.answers for s in verifying)
    green = sum(s.greens for s in verifying)
    errors = sum(s.errors for s in verifying)
    return f"{green / answered:.3f} ({green:,} of {answered:,}; {errors:,} errors)"
