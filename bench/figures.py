"""Figures files: each measuring command writes its own table under ``docs/figures/``.

The docs link to these files instead of quoting numbers, so that every figure a reader sees
comes from a run, names the command that produced it and the machine it ran on, and is replaced
by the next run rather than edited by hand. ``tests/docs/test_docs.py`` checks their shape.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIRECTORY = ROOT / "docs" / "figures"


@dataclass(frozen=True, slots=True)
class Figures:
    """One figures file: its name under ``docs/figures/``, the script that writes it, and the
    columns of its table."""

    file: str
    script: str  # relative to the repository, as its header line names it
    columns: tuple[str, ...]


VERIFY = Figures(
    "bench-verify.md",
    "bench/verify.py",
    ("figure", "greenlane", "peer", "greenlane ÷ peer", "goal"),
)
ELIGIBILITY = Figures("bench-eligibility.md", "bench/eligibility.py", ("figure", "result"))
STATUS_LISTS = Figures(
    "bench-status-lists.md", "bench/status_lists.py", ("figure", "result", "goal")
)
TRIP_TOKENS = Figures(
    "trip_tokens.md",
    "bench/trip_tokens.py",
    ("token", "characters", "QR version", "error correction", "modules"),
)
PROFILE = Figures(
    "profile-verify.md",
    "bench/profile.py",
    (
        "where a worker's CPU goes",
        "verify at saturation",
        "verify at about 50 %",
        "4-person trips at saturation",
    ),
)
LOADTEST = Figures(
    "loadtest.md",
    "loadtests/run.py",
    (
        "duration",
        "lanes",
        "workers",
        "verifies",
        "failures",
        "p50 ms",
        "p99 ms",
        "verifies/s",
        "gate",
    ),
)


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; a ``|`` inside a cell is escaped so that it cannot split the cell."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(columns), "|" + "---|" * len(columns), *(line(row) for row in rows)])


def nproc() -> int:
    """What ``nproc`` prints: the CPUs this process may run on, not every CPU of the host."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def command_line(figures: Figures, argv: Sequence[str] | None = None) -> str:
    """The command as run, with the script named from the repository root, so that it can be
    run again as written."""
    args = sys.argv[1:] if argv is None else argv
    return shlex.join(["python", figures.script, *args])


def header(command: str, when: datetime, cpus: int) -> str:
    """The line under the title that says where the table came from."""
    return (
        f"Measured by `{command}` on {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC; "
        f"nproc {cpus}, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}."
    )


def write(
    figures: Figures,
    rows: Iterable[Sequence[str]],
    *,
    argv: Sequence[str] | None = None,
    when: datetime | None = None,
    directory: Path = DIRECTORY,
) -> Path:
    """Replace ``directory/figures.file`` with the table of ``rows`` under its header.

    The file is written beside its final name and renamed onto it, so a run cut off halfway
    leaves the previous figures whole.
    """
    text = "\n".join(
        [
            f"# Figures: `{figures.script}`",
            "",
            header(command_line(figures, argv), when or datetime.now(UTC), nproc()),
            "Written by that command on every run; never edited by hand.",
            "",
            markdown_table(figures.columns, rows),
            "",
        ]
    )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / figures.file
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path
