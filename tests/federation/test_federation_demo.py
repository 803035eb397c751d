"""``greenlane federation-demo``, the command docs/federation.md gives, run as a user runs it.

It starts two ``greenlane serve`` processes, each on an embedded PostgreSQL of its own (about
25 s on a quiet machine), so this is the one place the walk runs as documented: the other tests
federate deployments on databases of the test server.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from ..api.commands import greenlane

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def scratch() -> Iterator[Path]:
    """Where the demo keeps its temporary files. Short, under the system's temporary
    directory: the embedded servers' Unix sockets live in it, and a socket's path is at most
    107 bytes."""
    made = Path(tempfile.mkdtemp(prefix="gl-"))
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def test_the_documented_command_walks_a_clearance_from_a_across_a_lane_of_b(
    scratch: Path,
) -> None:
    done = greenlane({"TMPDIR": str(scratch)}, "federation-demo", timeout=240)

    assert done.returncode == 0, done.stdout + done.stderr
    crossed = re.search(rf"^B's lane at LAVTE: green \[\], crossing ({UUID})$", done.stdout, re.M)
    assert crossed, done.stdout
    listed = re.search(
        rf"^A lists crossing ({UUID}) at LAVTE \(LAO\) .* from B's signed receipt$",
        done.stdout,
        re.M,
    )
    assert listed, done.stdout
    assert listed.group(1) == crossed.group(1)
    # It stops the servers and their databases it started.
    assert not [
        process.info["pid"]
        for process in psutil.process_iter(["pid", "cmdline"])
        if any(str(scratch) in part for part in process.info["cmdline"] or ())
    ]
