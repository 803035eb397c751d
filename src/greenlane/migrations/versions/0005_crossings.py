"""Crossings and verification events, partitioned by month; single-entry uses; verify replies.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

Crossings and events grow without bound, so they are range-partitioned by month: old months are
dropped whole by the retention job, and a DEFAULT partition makes sure no row is ever refused
for want of a partition. Two facts must hold across every worker and host, so the database
enforces them in small unpartitioned tables with primary keys: a single-entry clearance crosses
once per direction, and one lane's event id has exactly one answer.
"""

from greenlane.migrate import execute_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE crossings (
        id           uuid NOT NULL,
        clearance_id uuid NOT NULL,
        direction    text NOT NULL CHECK (direction IN ('entry', 'exit')),
        port_code    text NOT NULL,
        lane_code    text NOT NULL,
        lane_client  uuid NOT NULL,
        event_id     uuid NOT NULL,
        mode         text NOT NULL CHECK (mode IN ('online', 'degraded')),
        crossed_at   timestamptz NOT NULL,
        recorded_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (id, crossed_at)
    ) PARTITION BY RANGE (crossed_at);
    CREATE TABLE crossings_default PARTITION OF crossings DEFAULT;
    CREATE INDEX crossings_clearance ON crossings (clearance_id, crossed_at);

    CREATE TABLE verification_events (
        event_id     uuid NOT NULL,
        lane_client  uuid NOT NULL,
        port_code    text NOT NULL,
        lane_code    text NOT NULL,
        clearance_id uuid,
        direction    text NOT NULL,
        decision     text NOT NULL CHECK (decision IN ('green', 'refer', 'deny')),
        codes        text[] NOT NULL,
        mode         text NOT NULL,
        latency_us   integer NOT NULL,
        occurred_at  timestamptz NOT NULL,
        recorded_at  timestamptz NOT NULL DEFAULT now()
    ) PARTITION BY RANGE (occurred_at);
    CREATE TABLE verification_events_default PARTITION OF verification_events DEFAULT;
    CREATE INDEX verification_events_lane ON verification_events (lane_client, occurred_at);

    CREATE TABLE single_entry_uses (
        clearance_id uuid NOT NULL,
        direction    text NOT NULL,
        event_id     uuid NOT NULL,
        used_at      timestamptz NOT NULL,
        PRIMARY KEY (clearance_id, direction)
    );

    CREATE TABLE verify_replies (
        lane_client uuid NOT NULL,
        event_id    uuid NOT NULL,
        request_sha bytea NOT NULL,
        reply       jsonb NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (lane_client, event_id)
    );
    CREATE INDEX verify_replies_age ON verify_replies (created_at);
    """)


def downgrade() -> None:
    execute_script("""
    DROP TABLE verify_replies;
    DROP TABLE single_entry_uses;
    DROP TABLE verification_events;
    DROP TABLE crossings;
    """)
