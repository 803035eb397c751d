"""Registration: travellers (with driving licences), vehicles, and idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Personal data that could identify a document holder is stored only encrypted (AES-256-GCM, bound
to table, column, row id and key version): document and licence numbers and dates of birth.
Exact lookups (duplicates per partner, the watchlist) use keyed blind indexes instead, and the
masked forms (all but the last three characters hidden) are kept for display. Erasing a
traveller clears every personal column and keeps a tombstone, so that the clearances and audit
entries that point at the row stay valid.
"""

from greenlane.migrate import execute_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE travellers (
        id                     uuid PRIMARY KEY,
        partner_id             uuid NOT NULL REFERENCES partners (id),
        category               text NOT NULL,
        given_names            text,
        surname                text,
        sex                    char(1) CHECK (sex IN ('M', 'F', 'X')),
        nationality            char(3),
        date_of_birth_enc      bytea,
        document_type          text CHECK (document_type IN ('P', 'ID')),
        document_issuing_state char(3),
        document_number_enc    bytea,
        document_number_masked text,
        document_index         bytea,
        document_expiry        date,
        employer_name          text,
        employer_country       char(3),
        licence_number_enc     bytea,
        licence_number_masked  text,
        licence_issuing_state  char(3),
        licence_classes        text[],
        licence_expiry         date,
        erased_at              timestamptz,
        created_at             timestamptz NOT NULL DEFAULT now(),
        created_by             text NOT NULL,
        updated_at             timestamptz NOT NULL DEFAULT now(),
        updated_by             text NOT NULL,
        CONSTRAINT erased_or_complete CHECK (
            erased_at IS NOT NULL OR (
                surname IS NOT NULL AND given_names IS NOT NULL AND sex IS NOT NULL
                AND nationality IS NOT NULL AND date_of_birth_enc IS NOT NULL
                AND document_number_enc IS NOT NULL AND document_index IS NOT NULL)),
        CONSTRAINT licence_whole CHECK (
            (licence_number_enc IS NULL) = (licence_expiry IS NULL))
    );
    -- One live registration per document and partner; another partner may register the same
    -- person as its own record.
    CREATE UNIQUE INDEX travellers_one_per_document
        ON travellers (partner_id, document_index) WHERE erased_at IS NULL;
    CREATE INDEX travellers_page ON travellers (partner_id, created_at, id)
        WHERE erased_at IS NULL;

    CREATE TABLE vehicles (
        id                   uuid PRIMARY KEY,
        partner_id           uuid NOT NULL REFERENCES partners (id),
        plate                text,
        registration_country char(3),
        plate_index          bytea,
        vin                  text,
        kind                 text CHECK (kind IN ('car', 'van', 'bus', 'truck', 'tractor',
                                                  'trailer', 'motorcycle')),
        make                 text,
        model                text,
        colour               text,
        insurance_expiry     date,
        erased_at            timestamptz,
        created_at           timestamptz NOT NULL DEFAULT now(),
        created_by           text NOT NULL,
        updated_at           timestamptz NOT NULL DEFAULT now(),
        updated_by           text NOT NULL,
        CONSTRAINT erased_or_complete CHECK (
            erased_at IS NOT NULL OR (
                plate IS NOT NULL AND plate_index IS NOT NULL AND vin IS NOT NULL
                AND kind IS NOT NULL AND insurance_expiry IS NOT NULL))
    );
    CREATE UNIQUE INDEX vehicles_one_per_plate
        ON vehicles (partner_id, plate_index) WHERE erased_at IS NULL;
    CREATE INDEX vehicles_page ON vehicles (partner_id, created_at, id) WHERE erased_at IS NULL;

    -- The first answer to each (partner, Idempotency-Key), encrypted like any personal data.
    CREATE TABLE idempotency_keys (
        partner_id  uuid NOT NULL REFERENCES partners (id),
        key         text NOT NULL,
        fingerprint bytea NOT NULL,
        status      smallint,
        body_enc    bytea,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (partner_id, key)
    );
    CREATE INDEX idempotency_keys_expiry ON idempotency_keys (created_at);
    """)


def downgrade() -> None:
    execute_script("""
    DROP TABLE idempotency_keys;
    DROP TABLE vehicles;
    DROP TABLE travellers;
    """)
