"""Eligibility rules with their full history, the default rule set, and the watchlist.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

``rules`` holds the current version of each rule, which is what the workers compile and run;
``rule_versions`` keeps every version ever written (the deletion of a rule included), so that a
decision can always be explained by the exact rule text that made it. A deleted rule keeps its
row (``deleted_at``) because its versions point at it.

The default rule set is inserted as version 1 of ordinary rules, built from
``greenlane.domain.default_rules`` so that the data lives in one place; from then on an
administrator edits them like any other rule.

The watchlist stores documents and vehicles only as keyed blind indexes (the same digests the
registration tables use), plus a masked hint for people reading the list: a dump of the table
reveals no number or plate.
"""

from greenlane.domain.default_rules import DEFAULT_RULES, DefaultRule
from greenlane.migrate import execute_script

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_DEFAULTS_AUTHOR = "migration:0003"

_CONTENT_COLUMNS = """
        name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        description        text NOT NULL,
        condition          text NOT NULL,
        effect             text NOT NULL CHECK (effect IN ('deny', 'refer')),
        reason_code        text NOT NULL CHECK (reason_code ~ '^[a-z][a-z0-9_]{1,63}$'),
        message            text NOT NULL,
        enabled            boolean NOT NULL,
        -- NULL means every category (port); an empty array is never stored.
        applies_categories text[] CHECK (cardinality(applies_categories) > 0),
        applies_ports      text[] CHECK (cardinality(applies_ports) > 0),
        valid_from         timestamptz,
        valid_until        timestamptz,
        CONSTRAINT window_in_order CHECK (valid_from < valid_until),"""

_CONTENT = (
    "name, description, condition, effect, reason_code, message, enabled,"
    " applies_categories, applies_ports, valid_from, valid_until"
)


def _text(value: str) -> str:
    """A SQL string literal (standard_conforming_strings, on since PostgreSQL 9.1)."""
    return "'" + value.replace("'", "''") + "'"


def _array(values: tuple[str, ...] | None) -> str:
    if values is None:
        return "NULL"
    return "ARRAY[" + ", ".join(_text(v) for v in values) + "]::text[]"


def _default_rule_row(rule: DefaultRule) -> str:
    applies_to = rule.applies_to or {}
    values = [
        _text(rule.id) + "::uuid",
        "1",
        _text(rule.name),
        _text(rule.description),
        _text(rule.condition),
        _text(rule.effect),
        _text(rule.reason_code),
        _text(rule.message),
        "true",
        _array(applies_to.get("categories")),
        _array(applies_to.get("ports")),
        "NULL",
        "NULL",
        _text(_DEFAULTS_AUTHOR),
        _text(_DEFAULTS_AUTHOR),
    ]
    return "(" + ", ".join(values) + ")"


def _default_rules() -> str:
    """Version 1 of every default rule, and its history row."""
    rows = ",\n        ".join(_default_rule_row(rule) for rule in DEFAULT_RULES)
    return f"""
    INSERT INTO rules (id, version, {_CONTENT}, created_by, updated_by) VALUES
        {rows};
    INSERT INTO rule_versions (rule_id, version, change, {_CONTENT}, written_at, written_by)
        SELECT id, version, 'create', {_CONTENT}, created_at, created_by FROM rules;
    """  # noqa: S608 - the values are literals quoted by _text, from our own module


def upgrade() -> None:
    execute_script(f"""
    CREATE TABLE rules (
        id                 uuid PRIMARY KEY,
        version            integer NOT NULL CHECK (version >= 1),
        {_CONTENT_COLUMNS}
        deleted_at         timestamptz,
        created_at         timestamptz NOT NULL DEFAULT now(),
        created_by         text NOT NULL,
        updated_at         timestamptz NOT NULL DEFAULT now(),
        updated_by         text NOT NULL
    );
    CREATE INDEX rules_page ON rules (created_at, id) WHERE deleted_at IS NULL;

    CREATE TABLE rule_versions (
        rule_id            uuid NOT NULL REFERENCES rules (id),
        version            integer NOT NULL CHECK (version >= 1),
        change             text NOT NULL CHECK (change IN ('create', 'update', 'delete')),
        {_CONTENT_COLUMNS}
        written_at         timestamptz NOT NULL,
        written_by         text NOT NULL,
        PRIMARY KEY (rule_id, version)
    );

    {_default_rules()}

    CREATE TABLE watchlist (
        id                       uuid PRIMARY KEY,
        kind                     text NOT NULL CHECK (kind IN ('document', 'vehicle')),
        -- document_index / vehicle_index of greenlane.domain.lookups: HMAC, never the number.
        lookup                   bytea NOT NULL,
        -- The document's issuing state, or the vehicle's registration country.
        issuing_state_or_country char(3) NOT NULL,
        hint                     text NOT NULL,
        reason                   text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
        created_at               timestamptz NOT NULL DEFAULT now(),
        created_by               text NOT NULL,
        UNIQUE (kind, lookup)
    );
    CREATE INDEX watchlist_page ON watchlist (created_at, id);
    """)


def downgrade() -> None:
    execute_script("""
    DROP TABLE watchlist;
    DROP TABLE rule_versions;
    DROP TABLE rules;
    """)
