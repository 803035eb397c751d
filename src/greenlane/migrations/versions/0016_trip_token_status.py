"""Trip tokens in the status lists: each trip token's own entry, as a clearance has.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04

``trip_tokens`` gains ``status_list`` and ``status_idx``: the entry of ``token_statuses`` the
token's ``status`` claim names, taken when it is issued and set to revoked (1) when an
amendment or a cancellation revokes it. Trip tokens issued before this revision have none
(their tokens carry no ``status`` claim, which lanes now refuse): amend such a trip to have
its token issued again.
"""

from greenlane.migrate import execute_script

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    ALTER TABLE trip_tokens
        ADD COLUMN status_list integer,
        ADD COLUMN status_idx integer,
        ADD CONSTRAINT trip_tokens_status_entry FOREIGN KEY (status_list, status_idx)
            REFERENCES token_statuses (list_id, idx),
        ADD CONSTRAINT trip_tokens_status_both
            CHECK ((status_list IS NULL) = (status_idx IS NULL));
    CREATE UNIQUE INDEX trip_tokens_status_entry_once ON trip_tokens (status_list, status_idx);
    """)


def downgrade() -> None:
    # Irreversible in part: the trip tokens' entries are forgotten (the token_statuses rows
    # stay, as an entry no token names, and keep what they say until they expire).
    execute_script("""
    DROP INDEX trip_tokens_status_entry_once;
    ALTER TABLE trip_tokens DROP COLUMN status_list, DROP COLUMN status_idx;
    """)
