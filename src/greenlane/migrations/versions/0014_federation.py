"""Federation between agencies: the trust anchor, peers and their agreements, receipts.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

- ``anchor_keys``: this agency's trust-anchor keys (ES256), sealed under the KEK like the
  signing keys. One is ``active`` (signs the trust list and crossing receipts), one ``next``
  (already named in the trust list, so that peers trust it before it signs), older ones
  ``retired``.
- ``agencies``: the peers this agency trusts, each pinned by the RFC 7638 thumbprint of its
  anchor, with the agreement (ports, categories, validity) when one is in force.
  ``refresh_due_at`` is a lease: the worker that moves it forward fetches that peer's lists,
  so one worker at a time does.
- ``peer_trust_lists``: the last good trust list of each peer, and what went wrong since;
  ``peer_status_lists``: the last good copy of each status list its trust list names.
- ``federation_outbox``: crossing receipts owed to peers, written in the transaction that
  records the crossing and deleted once the peer has taken them.
- ``foreign_crossings``: crossings of our clearances that peers reported.
- ``gl_verification`` gains ``issuer``: set on the record of a peer's clearance, so that the
  batch that records it also owes its issuer a receipt.
"""

from greenlane.migrate import execute_script

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE anchor_keys (
        kid          text PRIMARY KEY,
        state        text NOT NULL CHECK (state IN ('next', 'active', 'retired')),
        public_jwk   jsonb NOT NULL,
        private_enc  bytea NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        activated_at timestamptz,
        retired_at   timestamptz
    );
    CREATE UNIQUE INDEX anchor_keys_one_active ON anchor_keys (state) WHERE state = 'active';
    CREATE UNIQUE INDEX anchor_keys_one_next ON anchor_keys (state) WHERE state = 'next';

    CREATE TABLE agencies (
        id                 uuid PRIMARY KEY,
        country            text NOT NULL,
        issuer             text NOT NULL UNIQUE,
        trust_list_url     text NOT NULL,
        anchor_thumbprint  text NOT NULL,
        agreement_ports      text[],
        agreement_categories text[],
        agreement_from       timestamptz,
        agreement_until      timestamptz,
        refresh_due_at     timestamptz NOT NULL DEFAULT now(),
        created_at         timestamptz NOT NULL DEFAULT now(),
        created_by         text NOT NULL,
        updated_at         timestamptz NOT NULL DEFAULT now(),
        updated_by         text NOT NULL
    );

    CREATE TABLE peer_trust_lists (
        agency_id       uuid PRIMARY KEY REFERENCES agencies (id) ON DELETE CASCADE,
        token           text,
        expires_at      timestamptz,
        fetched_at      timestamptz,
        attempted_at    timestamptz NOT NULL DEFAULT now(),
        refused         text
    );

    CREATE TABLE peer_status_lists (
        agency_id   uuid NOT NULL REFERENCES agencies (id) ON DELETE CASCADE,
        uri         text NOT NULL,
        token       text NOT NULL,
        expires_at  timestamptz,
        fetched_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (agency_id, uri)
    );

    CREATE TABLE federation_outbox (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        issuer          text NOT NULL,
        receipt         jsonb NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        attempts        integer NOT NULL DEFAULT 0,
        due_at          timestamptz NOT NULL DEFAULT now(),
        last_error      text
    );
    CREATE INDEX federation_outbox_due ON federation_outbox (due_at);

    CREATE TABLE foreign_crossings (
        id           uuid PRIMARY KEY,
        clearance_id uuid NOT NULL,
        -- Kept when the agency is deleted: the crossing happened all the same.
        agency_id    uuid REFERENCES agencies (id) ON DELETE SET NULL,
        country      text NOT NULL,
        direction    text NOT NULL CHECK (direction IN ('entry', 'exit')),
        port_code    text NOT NULL,
        lane_code    text NOT NULL,
        decision     text NOT NULL,
        mode         text NOT NULL,
        crossed_at   timestamptz NOT NULL,
        received_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX foreign_crossings_clearance ON foreign_crossings (clearance_id, crossed_at);

    ALTER TYPE gl_verification ADD ATTRIBUTE issuer text;
    """)


def downgrade() -> None:
    execute_script("""
    ALTER TYPE gl_verification DROP ATTRIBUTE issuer;
    DROP TABLE foreign_crossings;
    DROP TABLE federation_outbox;
    DROP TABLE peer_status_lists;
    DROP TABLE peer_trust_lists;
    DROP TABLE agencies;
    DROP TABLE anchor_keys;
    """)
