"""Where a webhook may be sent: the URL's rules and the addresses its host resolves to.

The rules themselves are pure (``domain/webhooks.py``); this adds the DNS lookup, which runs
when an endpoint is saved and again before every attempt, so that a host that later resolves
to an internal address (DNS rebinding) is refused at delivery too. The attempt then connects to
the very address checked here, never to a second lookup's answer.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

from greenlane.domain.webhooks import (
    DestinationRefused,
    check_address,
    check_url,
    literal_address,
)

RESOLVE_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Target:
    """A checked destination: connect to ``address``, and name ``host`` in Host and SNI."""

    scheme: str
    host: str
    port: int
    address: str


@dataclass(frozen=True, slots=True)
class Destinations:
    """The operator's choices: ``http`` URLs and private addresses are refused unless allowed."""

    allow_http: bool
    allow_private: bool

    async def check(self, url: str) -> Target:
        """The address an attempt to ``url`` connects to, or :class:`DestinationRefused`."""
        scheme, host, port = check_url(url, allow_http=self.allow_http)
        addresses = await _resolve(host, port)
        for address in addresses:  # every one: a client may be handed any of them
            check_address(address, allow_private=self.allow_private)
        return Target(scheme=scheme, host=host, port=port, address=addresses[0])


async def _resolve(host: str, port: int) -> list[str]:
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError):
        raise DestinationRefused("the host name does not resolve") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise DestinationRefused("the host name does not resolve")
    return addresses
