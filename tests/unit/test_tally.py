"""Tallied metrics write, at a flush, exactly what observing each request would have written."""

from __future__ import annotations

from prometheus_client import REGISTRY, Histogram

from greenlane import tally
from greenlane.tally import TalliedCounter, TalliedHistogram

BUCKETS = (0.001, 0.005, 0.01)
OBSERVED = (0.0005, 0.001, 0.003, 0.005, 0.0051, 0.01, 2.0, 0.004)


def samples(name: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for metric in REGISTRY.collect()
        if metric.name == name
        for sample in metric.samples
        if not sample.name.endswith("_created")
    }


def test_a_tallied_histogram_matches_one_observed_directly_after_a_flush() -> None:
    tallied = TalliedHistogram("test_tally_tallied_seconds", "t", ["lane"], buckets=BUCKETS)
    direct = Histogram("test_tally_direct_seconds", "d", ["lane"], buckets=BUCKETS)
    for value in OBSERVED:
        tallied.observe(value, "A")
        direct.labels("A").observe(value)

    assert samples("test_tally_tallied_seconds") == {}  # nothing written before the flush
    tally.flush()

    written = samples("test_tally_tallied_seconds")
    expected = samples("test_tally_direct_seconds")
    assert {(n.replace("tallied", "direct"), labels): v for (n, labels), v in written.items()} == (
        expected
    )
    assert written[("test_tally_tallied_seconds_count", (("lane", "A"),))] == len(OBSERVED)


def test_a_tallied_counter_adds_up_per_label_set_and_a_second_flush_adds_nothing() -> None:
    tallied = TalliedCounter("test_tally_answers", "t", ["decision"])
    for decision in ("green", "deny", "green"):
        tallied.inc(decision)

    tally.flush()
    tally.flush()

    assert samples("test_tally_answers") == {
        ("test_tally_answers_total", (("decision", "green"),)): 2.0,
        ("test_tally_answers_total", (("decision", "deny"),)): 1.0,
    }
