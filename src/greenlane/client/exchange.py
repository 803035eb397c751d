"""How one API call is carried out, whatever does the I/O: the part sync and async share.

A call is an :class:`Operation` (what to send, how to read the answer, whether it may be sent
again). :func:`plan` is the retry and re-authentication policy written once, as a generator that
asks its driver to send, sleep or renew the access token and is told what happened; the sync and
async sessions are thin drivers of it, so the two cannot drift apart.

Resending is safe when the request cannot have reached the server (the connection was never
made) or when the server deduplicates it: creating POSTs carry an ``Idempotency-Key`` that
stays the same across the retries of one call, and verifications carry their ``event_id``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
import msgspec

from greenlane.client.errors import ConnectionFailedError, error_from_response, retry_after
from greenlane.wire.identity import AccessToken

T = TypeVar("T")

# Every call has all four limits: a lane must never hang on a half-open connection.
DEFAULT_TIMEOUT = httpx.Timeout(connect=3.0, read=10.0, write=10.0, pool=5.0)
# Refresh the access token this long before it expires, so no call goes out with a token that
# expires on the way.
REFRESH_MARGIN = 30.0
RETRY_STATUSES = frozenset({429, 503})
USER_AGENT = "greenlane-client/1"
# The connection was never made, so the server cannot have acted on the request.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class Operation(Generic[T]):
    """One API call: the request, how to read a successful answer, and whether a request that
    may have reached the server can be sent again (``replay_safe``)."""

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    content: bytes | None = None
    form: Mapping[str, str] | None = None
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    replay_safe: bool = False
    signed: bool = True


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``attempts`` sends at most per call; waits grow exponentially with full jitter, or are
    what ``Retry-After`` says; a server asking for more than ``max_wait`` seconds is not
    waited for (the error is raised with its ``retry_after``)."""

    attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_wait: float = 60.0

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - spreads retries, not a secret


class _Send:
    """Send the operation and report the response or the transport error."""


class _Renew:
    """Forget the access token: the next send signs in again."""


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


SEND = _Send()
RENEW = _Renew()
Step = _Send | _Renew | Sleep
Outcome = httpx.Response | httpx.TransportError | None


def plan(
    op: Operation[Any], policy: RetryPolicy, *, renewable: bool
) -> Generator[Step, Outcome, httpx.Response]:
    """The steps of one call; returns the final response (an error answer included).

    ``renewable``: the session has credentials to sign in again with after a 401.
    """
    renewed = False
    attempt = 0
    while True:
        outcome = yield SEND
        attempt += 1
        if isinstance(outcome, httpx.TransportError):
            if attempt >= policy.attempts or not (op.replay_safe or isinstance(outcome, _NOT_SENT)):
                raise ConnectionFailedError(
                    f"{op.method} {op.path}: {type(outcome).__name__} after {attempt} attempt(s)"
                ) from outcome
            yield Sleep(policy.backoff(attempt))
            continue
        assert outcome is not None
        if outcome.status_code == 401 and op.signed and renewable and not renewed:
            # A token the server no longer accepts (its key rotated, the server restarted):
            # sign in once more before giving up.
            renewed = True
            attempt -= 1
            yield RENEW
            continue
        if outcome.status_code in RETRY_STATUSES and attempt < policy.attempts:
            asked = retry_after(outcome)
            delay = policy.backoff(attempt) if asked is None else asked
            if delay <= policy.max_wait:
                yield Sleep(delay)
                continue
        return outcome


def finish(op: Operation[T], response: httpx.Response) -> T:
    """The decoded answer, or the typed error an error answer stands for."""
    if response.status_code >= 400:
        raise error_from_response(response)
    return op.read(response)


_ACCESS_TOKEN = msgspec.json.Decoder(AccessToken)


class TokenCache:
    """The client-credentials access token, renewed ``REFRESH_MARGIN`` before it expires."""

    @classmethod
    def for_credentials(cls, client_id: str | None, client_secret: str | None) -> TokenCache | None:
        """A cache when there are credentials; None for a session that does not sign in."""
        return cls(client_id, client_secret) if client_id and client_secret else None

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._clock = clock
        self._token: str | None = None
        self._renew_at = 0.0

    def current(self) -> str | None:
        return self._token if self._clock() < self._renew_at else None

    def sign_in(self) -> tuple[Operation[AccessToken], float]:
        """The token request, and the moment the token's lifetime is counted from."""
        op = Operation(
            "POST",
            "/oauth/token",
            lambda response: _ACCESS_TOKEN.decode(response.content),
            form=self._form,
            replay_safe=True,  # a sign-in changes nothing, so it may always be asked again
            signed=False,
        )
        return op, self._clock()

    def keep(self, token: AccessToken, requested_at: float) -> str:
        self._token = token.access_token
        self._renew_at = requested_at + token.expires_in - REFRESH_MARGIN
        return token.access_token

    def forget(self) -> None:
        self._token = None


def request_args(
    op: Operation[Any], base_url: str, bearer: str | None, timeout: httpx.Timeout
) -> dict[str, Any]:
    """The keyword arguments of ``httpx`` ``request()`` for one attempt of ``op``."""
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **op.headers}
    if op.content is not None:
        headers["Content-Type"] = "application/json"
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    return {
        "method": op.method,
        "url": base_url + op.path,
        "content": op.content,
        "data": op.form,
        "params": op.params,
        "headers": headers,
        "timeout": timeout,
    }
