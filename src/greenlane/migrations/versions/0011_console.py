"""The console: agency staff, their sessions, and who has claimed a referred case.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

Staff are people, not API clients: a table of their own, with an argon2id password hash and a
TOTP secret (encrypted like personal data), both set at enrolment through a one-time link of
which only a hash is kept. ``totp_last_step`` is the last time step accepted, so a code cannot
be used twice. Sessions live here too, keyed by a hash of the cookie's value, so that a stolen
database backup holds no usable session. Deleting a staff member's row is not how access ends
(``disabled_at`` is, and the audit log names them by email for ever), so the foreign keys need
no cascade beyond sessions.
"""

from greenlane.migrate import execute_script

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE staff (
        id                   uuid PRIMARY KEY,
        email                text NOT NULL,
        role                 text NOT NULL
                             CHECK (role IN ('reviewer', 'rule_admin', 'agency_admin')),
        password_hash        text,
        totp_secret_enc      bytea,
        totp_last_step       bigint NOT NULL DEFAULT 0,
        enrolment_hash       bytea UNIQUE,
        enrolment_expires_at timestamptz,
        failed_logins        integer NOT NULL DEFAULT 0,
        locked_until         timestamptz,
        enrolled_at          timestamptz,
        disabled_at          timestamptz,
        created_at           timestamptz NOT NULL DEFAULT now(),
        created_by           text NOT NULL,
        CHECK ((password_hash IS NULL) = (totp_secret_enc IS NULL))
    );
    CREATE UNIQUE INDEX staff_email ON staff (lower(email));

    CREATE TABLE staff_sessions (
        id_hash      bytea PRIMARY KEY,
        staff_id     uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
        csrf_token   text NOT NULL,
        created_at   timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL
    );
    CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

    CREATE TABLE review_claims (
        application_id uuid PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
        staff_id       uuid NOT NULL REFERENCES staff (id),
        claimed_at     timestamptz NOT NULL
    );
    """)


def downgrade() -> None:
    execute_script("""
    DROP TABLE review_claims;
    DROP TABLE staff_sessions;
    DROP TABLE staff;
    """)
