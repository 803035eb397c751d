"""Background tasks that stop when asked, and never hold up a worker's exit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

STOP_TIMEOUT = 5.0
_logger = logging.getLogger("greenlane.background")


async def stop_tasks(tasks: Iterable[asyncio.Task[Any]], *, within: float = STOP_TIMEOUT) -> None:
    """Cancel ``tasks`` and wait for them to end, ``within`` seconds at most.

    Unlike ``await task`` under ``suppress(CancelledError)``, this does not swallow a
    cancellation of the caller itself. A task still running by then has ignored its
    cancellation: it is logged and left behind rather than waited for without end.
    """
    running = [task for task in tasks if not task.done()]
    for task in running:
        task.cancel()
    if running:
        _, stuck = await asyncio.wait(running, timeout=within)
        for task in stuck:
            _logger.warning("task %s did not stop within %.0f s", task.get_name(), within)


def keep_cancellation() -> None:
    """Call first in a loop's ``except Exception``: an error raised while the task is being
    cancelled (a clean-up that failed on the way out) must end the loop, not retry it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
