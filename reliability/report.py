"""``make reliability``: faults, two processes, graceful shutdown, federation, in one table.

The table is Markdown. It is printed, and written to ``docs/figures/reliability.md`` (which
docs/reliability.md links to) with the command line, the date and the machine. The exit status is
non-zero when any row broke a promise (its last column says which).

    PYTHONPATH=. python reliability/report.py [--short]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bench import figures

from reliability.faults import FULL, SHORT, run_faults
from reliability.federation import run_federation
from reliability.shutdown import run_shutdown
from reliability.table import FIGURES, render
from reliability.workers import run_workers


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Every reliability figure in one table.")
    parser.add_argument("--short", action="store_true", help="the faults' CI version")
    args = parser.parse_args(argv)
    rows = [
        *run_faults(SHORT if args.short else FULL),
        *run_workers(),
        run_shutdown(database_back=False),
        run_shutdown(database_back=True),
        *run_federation(),
    ]
    print(render(rows))
    print(f"written to {figures.write(FIGURES, [row.cells() for row in rows], argv=argv)}")
    return 0 if all(row.kept for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
