"""Token Status Lists: every token's status at an index of a published list; suspension.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

``status_lists`` are the published lists (``GET /v1/status-lists/{id}``): each has a fixed
size, fixed when it is created (``GREENLANE_STATUS_LIST_SIZE`` at that moment), and hands out
its indices in the order of a keyed permutation (``permutation_key``), so ``allocated`` counts
them and no index is given twice. In ``status_list_tokens``, ``version`` goes up with every
status change, and ``token`` is the signed list of ``signed_version``, made once by one worker
and served as it is by all.

``token_statuses`` holds the status of every index handed out (0 valid, 1 revoked, 2 suspended),
for any kind of token: clearances point at theirs, and other tokens may. Clearances issued
before this revision have no index (their tokens carry no ``status`` claim, which lanes now
refuse): issue them again.
"""

from greenlane.migrate import execute_script

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE status_lists (
        id              integer PRIMARY KEY CHECK (id > 0),
        bits            smallint NOT NULL DEFAULT 2 CHECK (bits IN (1, 2, 4, 8)),
        size            integer NOT NULL CHECK (size >= 16 AND size & (size - 1) = 0),
        allocated       integer NOT NULL DEFAULT 0 CHECK (allocated BETWEEN 0 AND size),
        permutation_key bytea NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now()
    );

    -- Apart from status_lists so that issuing (which locks a list's row to take an index) and
    -- changing a status (which counts a version here) never wait for each other's locks.
    CREATE TABLE status_list_tokens (
        list_id        integer PRIMARY KEY REFERENCES status_lists (id),
        version        bigint NOT NULL DEFAULT 1,
        signed_version bigint NOT NULL DEFAULT 0,
        token          text,
        kid            text,
        signed_at      timestamptz,
        expires_at     timestamptz
    );

    CREATE TABLE token_statuses (
        list_id    integer NOT NULL REFERENCES status_lists (id),
        idx        integer NOT NULL CHECK (idx >= 0),
        status     smallint NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),
        -- When the token expires: past it, its status no longer needs publishing.
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (list_id, idx)
    );
    CREATE INDEX token_statuses_not_valid ON token_statuses (list_id) WHERE status <> 0;

    ALTER TABLE clearances
        ADD COLUMN status_list integer,
        ADD COLUMN status_idx integer,
        ADD COLUMN suspended_at timestamptz,
        ADD COLUMN suspended_by text,
        ADD COLUMN suspension_reason text,
        ADD CONSTRAINT clearances_status_entry FOREIGN KEY (status_list, status_idx)
            REFERENCES token_statuses (list_id, idx),
        ADD CONSTRAINT clearances_status_both CHECK ((status_list IS NULL) = (status_idx IS NULL));
    CREATE UNIQUE INDEX clearances_status_entry_once ON clearances (status_list, status_idx);
    """)


def downgrade() -> None:
    # Irreversible in part: suspensions and status indices are dropped with their columns.
    execute_script("""
    ALTER TABLE clearances
        DROP COLUMN status_list,
        DROP COLUMN status_idx,
        DROP COLUMN suspended_at,
        DROP COLUMN suspended_by,
        DROP COLUMN suspension_reason;
    DROP TABLE token_statuses;
    DROP TABLE status_list_tokens;
    DROP TABLE status_lists;
    """)
