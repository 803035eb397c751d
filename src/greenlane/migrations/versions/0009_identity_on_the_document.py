"""The MRZ is kept, and an application may be issued a clearance again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

The identity a clearance vouches for is the one on the travel document. Until now the MRZ was
checked at registration and dropped, so a PATCH could change a traveller's nationality, names
or birth date with nothing left to compare them with. The MRZ is now kept, encrypted like the
other personal columns (and cleared with them on erasure), and every identity field must agree
with it.

A change of identity revokes the traveller's clearances and decides their live applications
again; one that is approved again gets a new clearance. So an application may now have several
clearances over time, but still at most one that is not revoked.
"""

from greenlane.migrate import execute_script

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    ALTER TABLE travellers ADD COLUMN mrz_enc bytea;

    ALTER TABLE clearances DROP CONSTRAINT clearances_application_id_key;
    CREATE UNIQUE INDEX clearances_one_live_per_application
        ON clearances (application_id) WHERE revoked_at IS NULL;
    CREATE INDEX clearances_application ON clearances (application_id);
    """)


def downgrade() -> None:
    # Fails while an application has been issued more than one clearance: a downgrade must not
    # choose which of them to delete.
    execute_script("""
    DROP INDEX clearances_application;
    DROP INDEX clearances_one_live_per_application;
    ALTER TABLE clearances ADD CONSTRAINT clearances_application_id_key UNIQUE (application_id);

    ALTER TABLE travellers DROP COLUMN mrz_enc;
    """)
