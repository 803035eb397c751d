"""``make reliability``: faults, two processes, graceful shutdown, all in one table.

The table is Markdown, printed as the README quotes it. The exit status is non-zero when any
row broke a promise (its last column says which).

    PYTHONPATH=. python reliability/report.py [--short]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from reliability.faults import FULL, SHORT, run_faults
from reliability.shutdown import run_shutdown
from reliability.table import render
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
    ]
    print(render(rows))
    return 0 if all(row.kept for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
