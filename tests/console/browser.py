"""A real Chromium (Debian's, launched by path) against greenlane served by uvicorn in a thread.

Playwright cannot download its own browser here, so the browser is ``/usr/bin/chromium``
(``apt-get install chromium``; ``.ci/run`` installs it when missing), headless, without a
sandbox (CI runs as root) and without anything that would reach the network on its own.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from greenlane.app import create_app
from greenlane.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 30.0
# Playwright's assertions wait 5 s by default; on 2 cores shared with PostgreSQL and the rest of
# the suite an htmx round trip has taken longer. A wait ends as soon as its condition holds, so
# a longer ceiling costs a passing test nothing.
expect.set_options(timeout=15_000)


@contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: apt-get install -y chromium (the browser tests need it)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """greenlane on 127.0.0.1 at a free port, in a thread of this process; yields its URL."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="greenlane-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server under test did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


class Watched:
    """A page whose Content-Security-Policy violations and script errors are collected."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def forgive(self, fragment: str) -> None:
        """Drop the problems so far that hold ``fragment``: the browser reports an error page
        that a test opened on purpose (a 403) as a resource that failed to load."""
        self.problems = [problem for problem in self.problems if fragment not in problem]

    def _console(self, message: object) -> None:
        text = str(getattr(message, "text", ""))
        if getattr(message, "type", "") == "error":
            self.problems.append(text)


# `make screenshots` sets this to docs/console: the tour below then saves each page there.
SCREENSHOTS_ENV = "GREENLANE_SCREENSHOTS"


def snapshot(page: Page, name: str, folder: str | None) -> None:
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
