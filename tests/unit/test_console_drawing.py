"""The console's pure drawing: the Today chart's geometry and the diff between rule versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from greenlane.console.chart import HEIGHT, draw
from greenlane.console.diff import diff
from greenlane.services.overview import Minute
from greenlane.wire.rules import RuleContent

START = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)


def minutes(*counts: tuple[int, int, int]) -> list[Minute]:
    return [
        Minute(START + timedelta(minutes=i), {"green": g, "refer": r, "deny": d})
        for i, (g, r, d) in enumerate(counts)
    ]


def test_bars_stack_by_decision_up_to_the_peak() -> None:
    chart = draw(minutes((4, 0, 0), (1, 1, 2), (0, 0, 0)))
    assert chart.peak == 4
    assert [bar.title for bar in chart.bars] == [
        "00:00 green: 4",
        "00:01 green: 1",
        "00:01 refer: 1",
        "00:01 deny: 2",
    ]
    plot = HEIGHT - 20
    tallest = chart.bars[0]
    assert tallest.y == 0
    assert tallest.height == plot
    stacked = chart.bars[1:]
    assert stacked[0].y + stacked[0].height == plot  # green sits on the axis
    assert stacked[1].y + stacked[1].height == stacked[0].y  # refer on green
    assert chart.labels == [(0.0, "00:00")]


def test_an_hour_without_traffic_draws_no_bars() -> None:
    chart = draw(minutes(*[(0, 0, 0)] * 60))
    assert chart.bars == []
    assert chart.peak == 0
    assert [text for _x, text in chart.labels] == ["00:00", "00:15", "00:30", "00:45"]


def rule(**changes: object) -> RuleContent:
    fields: dict[str, object] = {
        "name": "Age",
        "description": "",
        "condition": "traveller.age >= 18",
        "effect": "deny",
        "reason_code": "too_young",
        "message": "Too young.",
        "enabled": True,
    }
    fields.update(changes)
    return RuleContent(**fields)  # type: ignore[arg-type]


def test_the_diff_shows_changed_lines_only_in_context() -> None:
    lines = diff(rule(), rule(condition="traveller.age >= 21", enabled=False))
    changed = [(line.kind, line.text) for line in lines if line.kind in ("added", "removed")]
    assert changed == [
        ("removed", "enabled: yes"),
        ("added", "enabled: no"),
        ("removed", "traveller.age >= 18"),
        ("added", "traveller.age >= 21"),
    ]
    assert lines[0].kind == "hunk"
    assert diff(rule(), rule()) == []
