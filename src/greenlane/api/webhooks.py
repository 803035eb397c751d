"""Partner routes for webhook endpoints, their delivery log and replays."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, delete, get, patch, post
from litestar.params import Body, PathParameter, QueryParameter

from greenlane.api.deps import WebhooksDep
from greenlane.api.params import DEFAULT_LIMIT, CursorParam, Limit
from greenlane.api.problems import documented
from greenlane.api.security import SECURITY, allow
from greenlane.services import webhooks as endpoints
from greenlane.wire.common import Page
from greenlane.wire.webhooks import (
    Delivery,
    RotateSecret,
    Webhook,
    WebhookCreate,
    WebhookUpdate,
    WebhookWithSecret,
)

WebhookId = Annotated[uuid.UUID, PathParameter(description="A webhook endpoint of yours")]
DeliveryId = Annotated[uuid.UUID, PathParameter(description="A delivery to that endpoint")]
DeliveryStatus = Annotated[
    Literal["pending", "delivered", "failed"] | None,
    QueryParameter(description="Only deliveries with this status"),
]


class WebhooksController(Controller):
    path = "/v1/webhooks"
    tags = ["webhooks"]
    opt = allow("partner")
    security = SECURITY

    @post(
        "/",
        summary="Register an endpoint; the answer shows its signing secret, once",
        responses=documented(422),
    )
    async def create(
        self, webhooks: WebhooksDep, data: Annotated[WebhookCreate, Body()]
    ) -> WebhookWithSecret:
        return await endpoints.create(webhooks.webhooks, data, webhooks.caller)

    @get("/", summary="Your webhook endpoints")
    async def list(
        self, webhooks: WebhooksDep, limit: Limit = DEFAULT_LIMIT, cursor: CursorParam = None
    ) -> Page[Webhook]:
        return await endpoints.page(
            webhooks.webhooks.db, webhooks.caller, cursor=cursor, limit=limit
        )

    @get("/{webhook_id:uuid}", summary="One of your endpoints (why it is disabled, if it is)")
    async def read(self, webhooks: WebhooksDep, webhook_id: WebhookId) -> Webhook:
        return await endpoints.get(webhooks.webhooks.db, webhook_id, webhooks.caller)

    @patch(
        "/{webhook_id:uuid}",
        summary="Change an endpoint's URL, events or description, or enable or disable it",
        responses=documented(422),
    )
    async def update(
        self, webhooks: WebhooksDep, webhook_id: WebhookId, data: Annotated[WebhookUpdate, Body()]
    ) -> Webhook:
        return await endpoints.update(webhooks.webhooks, webhook_id, data, webhooks.caller)

    @delete("/{webhook_id:uuid}", summary="Remove an endpoint and its delivery log")
    async def remove(self, webhooks: WebhooksDep, webhook_id: WebhookId) -> None:
        await endpoints.delete(webhooks.webhooks.db, webhook_id, webhooks.caller)

    @post(
        "/{webhook_id:uuid}/rotate-secret",
        summary="A new signing secret, shown once; the old one keeps signing for the overlap",
        status_code=200,
    )
    async def rotate(
        self,
        webhooks: WebhooksDep,
        webhook_id: WebhookId,
        data: Annotated[RotateSecret | None, Body()] = None,
    ) -> WebhookWithSecret:
        return await endpoints.rotate_secret(
            webhooks.webhooks, webhook_id, data or RotateSecret(), webhooks.caller
        )

    @post(
        "/{webhook_id:uuid}/test",
        summary="Send a webhook.test event to this endpoint",
        status_code=202,
        responses=documented(409),
    )
    async def test(self, webhooks: WebhooksDep, webhook_id: WebhookId) -> Delivery:
        return await endpoints.send_test(webhooks.webhooks.db, webhook_id, webhooks.caller)

    @get("/{webhook_id:uuid}/deliveries", summary="Deliveries to this endpoint, every attempt")
    async def deliveries(
        self,
        webhooks: WebhooksDep,
        webhook_id: WebhookId,
        status: DeliveryStatus = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[Delivery]:
        return await endpoints.deliveries(
            webhooks.webhooks.db,
            webhook_id,
            webhooks.caller,
            status=status,
            cursor=cursor,
            limit=limit,
        )

    @post(
        "/{webhook_id:uuid}/deliveries/{delivery_id:uuid}/replay",
        summary="Send a delivery's event again (same webhook-id), as a new delivery",
        status_code=202,
        responses=documented(409),
    )
    async def replay(
        self, webhooks: WebhooksDep, webhook_id: WebhookId, delivery_id: DeliveryId
    ) -> Delivery:
        return await endpoints.replay(
            webhooks.webhooks.db, webhook_id, delivery_id, webhooks.caller
        )
