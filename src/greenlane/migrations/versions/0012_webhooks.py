"""Webhooks for partners: endpoints, a transactional outbox, deliveries and their attempts.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

An event is written in the transaction of the change that causes it (``webhook_events``), with
one delivery per endpoint of the partner that listens to its type (``webhook_deliveries``), so
a change that rolls back leaves no event and one that commits cannot lose its event. Delivery
workers on any host claim due deliveries with ``FOR UPDATE SKIP LOCKED``; a claim moves the
delivery's ``next_attempt_at`` past the attempt's longest possible duration, which is the lease:
a worker killed mid-attempt leaves the delivery due again when that lease ends. Every attempt is
a row of ``webhook_attempts`` (outcome, status code, latency; never the answer's body).

Secrets are stored encrypted with the personal-data keys, bound to their row and column.
``webhook_expiry_notices`` remembers which clearances were announced as expiring, so that the
scheduled job announces each once, whichever worker runs it.
"""

from greenlane.migrate import execute_script

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE webhook_endpoints (
        id uuid PRIMARY KEY,
        partner_id uuid NOT NULL REFERENCES partners (id),
        url text NOT NULL,
        description text,
        events text[] NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        disabled_reason text,
        disabled_at timestamptz,
        secret_enc bytea NOT NULL,
        previous_secret_enc bytea,
        previous_secret_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        updated_by text NOT NULL
    );
    CREATE INDEX webhook_endpoints_partner ON webhook_endpoints (partner_id, created_at, id);

    CREATE TABLE webhook_events (
        id uuid PRIMARY KEY,
        partner_id uuid NOT NULL REFERENCES partners (id),
        type text NOT NULL,
        body text NOT NULL,
        occurred_at timestamptz NOT NULL
    );

    CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY,
        event_id uuid NOT NULL REFERENCES webhook_events (id),
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        partner_id uuid NOT NULL REFERENCES partners (id),
        status text NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        last_status_code integer,
        last_outcome text,
        delivered_at timestamptz,
        replay_of uuid REFERENCES webhook_deliveries (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
        WHERE status = 'pending';
    CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at, id);

    CREATE TABLE webhook_attempts (
        delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
        attempt integer NOT NULL,
        started_at timestamptz NOT NULL,
        outcome text NOT NULL,
        status_code integer,
        latency_ms integer,
        PRIMARY KEY (delivery_id, attempt)
    );

    CREATE TABLE webhook_expiry_notices (
        clearance_id uuid PRIMARY KEY REFERENCES clearances (id) ON DELETE CASCADE,
        noticed_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX clearances_live_expiry ON clearances (expires_at) WHERE revoked_at IS NULL;
    """)


def downgrade() -> None:
    execute_script("""
    DROP INDEX clearances_live_expiry;
    DROP TABLE webhook_expiry_notices;
    DROP TABLE webhook_attempts;
    DROP TABLE webhook_deliveries;
    DROP TABLE webhook_events;
    DROP TABLE webhook_endpoints;
    """)
