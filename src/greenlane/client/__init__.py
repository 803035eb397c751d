"""The greenlane SDK: typed clients for partner apps, port lanes and administrators.

It depends on httpx, msgspec and greenlane's own ``wire`` and ``domain`` packages only, never on
the server, so a lane vendor can install and use it without Litestar or PostgreSQL.

    with PartnerClient("https://greenlane.example", client_id, client_secret) as partner:
        traveller = partner.register_traveller(TravellerCreate(...))
"""

from greenlane.client.aio import AsyncAdminClient, AsyncLaneClient, AsyncPartnerClient
from greenlane.client.errors import (
    AuthenticationError,
    ConflictError,
    ConnectionFailedError,
    ForbiddenError,
    GreenlaneError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ServiceUnavailableError,
    ValidationError,
)
from greenlane.client.exchange import DEFAULT_TIMEOUT, RetryPolicy
from greenlane.client.offline import OfflineVerifier, SyncReport
from greenlane.client.sync import AdminClient, LaneClient, PartnerClient
from greenlane.wire.problems import FieldError

__all__ = [
    "DEFAULT_TIMEOUT",
    "AdminClient",
    "AsyncAdminClient",
    "AsyncLaneClient",
    "AsyncPartnerClient",
    "AuthenticationError",
    "ConflictError",
    "ConnectionFailedError",
    "FieldError",
    "ForbiddenError",
    "GreenlaneError",
    "LaneClient",
    "NotFoundError",
    "OfflineVerifier",
    "PartnerClient",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailableError",
    "SyncReport",
    "ValidationError",
]
