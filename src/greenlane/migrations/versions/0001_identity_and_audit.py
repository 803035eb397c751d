"""Identity and audit: partners, ports, API clients and the hash-chained audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Every record keeps who made and last changed it. The audit log is append-only: a trigger refuses
UPDATE, DELETE and TRUNCATE, so even a bug in the application cannot rewrite history; the hash
chain (computed by the application) makes an edit by someone who bypasses the trigger visible.
"""

from greenlane.migrate import execute_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE partners (
        id            uuid PRIMARY KEY,
        name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        country       char(3) NOT NULL CHECK (country ~ '^[A-Z]{3}$'),
        contact_email text NOT NULL CHECK (length(contact_email) <= 254),
        created_at    timestamptz NOT NULL DEFAULT now(),
        created_by    text NOT NULL,
        updated_at    timestamptz NOT NULL DEFAULT now(),
        updated_by    text NOT NULL
    );
    -- Cursor pagination walks (created_at, id).
    CREATE INDEX partners_page ON partners (created_at, id);

    CREATE TABLE ports (
        code       text PRIMARY KEY CHECK (code ~ '^[A-Z]{2}[A-Z0-9]{3}$'),
        name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        country    char(3) NOT NULL CHECK (country ~ '^[A-Z]{3}$'),
        kinds      text[] NOT NULL CHECK (
                       cardinality(kinds) > 0
                       AND kinds <@ ARRAY['passenger', 'vehicle', 'cargo']::text[]),
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        updated_by text NOT NULL
    );

    CREATE TABLE clients (
        id          uuid PRIMARY KEY,
        role        text NOT NULL CHECK (role IN ('admin', 'partner', 'lane')),
        name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        partner_id  uuid REFERENCES partners (id),
        port_code   text REFERENCES ports (code),
        lane_code   text CHECK (lane_code ~ '^[A-Za-z0-9_-]{1,32}$'),
        -- HMAC-SHA256 of the secret under a server-side pepper; the secret itself is never kept.
        secret_hash bytea NOT NULL,
        disabled_at timestamptz,
        created_at  timestamptz NOT NULL DEFAULT now(),
        created_by  text NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        updated_by  text NOT NULL,
        CONSTRAINT partner_binding CHECK ((role = 'partner') = (partner_id IS NOT NULL)),
        CONSTRAINT lane_binding CHECK (
            (role = 'lane') = (port_code IS NOT NULL) AND (port_code IS NULL) = (lane_code IS NULL))
    );
    CREATE INDEX clients_page ON clients (created_at, id);

    -- Failed sign-ins per client id in the current minute, shared by every worker.
    CREATE TABLE signin_failures (
        client_id    text PRIMARY KEY,
        window_start timestamptz NOT NULL,
        failures     integer NOT NULL
    );

    CREATE TABLE audit_log (
        id      bigint PRIMARY KEY,
        at      timestamptz NOT NULL,
        actor   text NOT NULL,
        action  text NOT NULL,
        subject text,
        details jsonb NOT NULL,
        hash    bytea NOT NULL CHECK (length(hash) = 32)
    );

    CREATE FUNCTION audit_log_is_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
    END
    $$;
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
    """)


def downgrade() -> None:
    execute_script("""
    DROP TABLE audit_log;
    DROP FUNCTION audit_log_is_append_only();
    DROP TABLE signin_failures;
    DROP TABLE clients;
    DROP TABLE ports;
    DROP TABLE partners;
    """)
