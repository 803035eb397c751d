"""The ``greenlane`` command run as an operator runs it: a subprocess with only our settings."""

from __future__ import annotations

import os
import subprocess
import sys


def greenlane(
    environment: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENLANE_")}
    env.update(environment)
    return subprocess.run(
        [sys.executable, "-m", "greenlane", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
