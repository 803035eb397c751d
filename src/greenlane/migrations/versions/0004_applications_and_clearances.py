"""Applications, clearances, revocations and the clearance signing keys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

Signing keys are kept with their private half encrypted under the key-encryption key, so a copy
of the database alone cannot mint clearances. Revocations carry a sequence number: lanes page
through ``GET /v1/revocations`` by it and never miss one committed out of time order.
"""

from greenlane.migrate import execute_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE signing_keys (
        kid          text PRIMARY KEY,
        state        text NOT NULL CHECK (state IN ('next', 'active', 'retiring', 'retired')),
        public_jwk   jsonb NOT NULL,
        private_enc  bytea NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        activated_at timestamptz,
        retiring_at  timestamptz,
        -- A retiring key verifies until the last token it signed has expired.
        retire_after timestamptz,
        retired_at   timestamptz
    );
    CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE state = 'active';
    CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys ((true)) WHERE state = 'next';

    CREATE TABLE applications (
        id            uuid PRIMARY KEY,
        partner_id    uuid NOT NULL REFERENCES partners (id),
        traveller_id  uuid NOT NULL REFERENCES travellers (id),
        vehicle_id    uuid REFERENCES vehicles (id),
        ports         text[] NOT NULL,
        valid_from    date NOT NULL,
        valid_until   date NOT NULL CHECK (valid_until >= valid_from),
        entries       text NOT NULL CHECK (entries IN ('single', 'multiple')),
        purpose       text NOT NULL,
        status        text NOT NULL CHECK (status IN ('approved', 'referred', 'rejected')),
        reasons       jsonb NOT NULL,
        decided_by    text,
        decision_note text,
        decided_at    timestamptz,
        created_at    timestamptz NOT NULL DEFAULT now(),
        created_by    text NOT NULL,
        updated_at    timestamptz NOT NULL DEFAULT now(),
        updated_by    text NOT NULL,
        erased_at     timestamptz
    );
    CREATE INDEX applications_page ON applications (partner_id, created_at, id);
    CREATE INDEX applications_reviews ON applications (created_at, id) WHERE status = 'referred';
    CREATE INDEX applications_traveller ON applications (traveller_id);

    CREATE SEQUENCE revocation_seq;

    CREATE TABLE clearances (
        id                uuid PRIMARY KEY,
        application_id    uuid NOT NULL UNIQUE REFERENCES applications (id),
        partner_id        uuid NOT NULL REFERENCES partners (id),
        traveller_id      uuid NOT NULL REFERENCES travellers (id),
        vehicle_id        uuid REFERENCES vehicles (id),
        jti               text NOT NULL UNIQUE,
        kid               text NOT NULL REFERENCES signing_keys (kid),
        token             text NOT NULL,
        ports             text[] NOT NULL,
        entries           text NOT NULL CHECK (entries IN ('single', 'multiple')),
        not_before        timestamptz NOT NULL,
        expires_at        timestamptz NOT NULL,
        created_at        timestamptz NOT NULL DEFAULT now(),
        created_by        text NOT NULL,
        revoked_at        timestamptz,
        revoked_by        text,
        revocation_reason text,
        revocation_seq    bigint UNIQUE,
        CONSTRAINT revoked_whole CHECK ((revoked_at IS NULL) = (revocation_seq IS NULL))
    );
    CREATE INDEX clearances_traveller ON clearances (traveller_id);
    CREATE INDEX clearances_kid_expiry ON clearances (kid, expires_at);
    """)


def downgrade() -> None:
    execute_script("""
    DROP TABLE clearances;
    DROP SEQUENCE revocation_seq;
    DROP TABLE applications;
    DROP TABLE signing_keys;
    """)
