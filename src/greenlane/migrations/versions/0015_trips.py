"""Trips: a vehicle and everyone in it, filed by a partner and cleared at a lane with one scan.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

- ``trips``, their ``trip_members`` (each with the clearance that covers them) and their
  ``trip_tokens``: an amendment issues a new token and revokes the one before, so a trip has a
  token history. Trip tokens are revoked through the same ``revocation_seq`` as clearances, so
  the revocation feed lists both in one commit order.
- A crossing may now be a trip's: ``crossings.trip_id``, and the vehicle's own crossing has a
  ``vehicle_id`` and no clearance. ``verification_events.trip_id`` likewise.
- ``gl_verification`` gains ``trip_id`` and ``members`` (the per-member part of a trip
  verification, as ``greenlane.domain.verification.MemberRecord`` writes it).
- ``gl_record_trips()`` records the trips of a group-commit batch as ``gl_record_verifications()``
  records its clearances, and in the same statement (``db/verifications.py``), so in the same
  transaction: the event id claimed or replayed alike, every member checked against the central
  record (revocation, single entry) and, only when the whole trip stays green, one crossing per
  member and one for the vehicle. ``gl_record_verifications()`` itself is left as it is.
"""

from greenlane.domain.default_rules import DEFAULT_TRIP_RULES
from greenlane.migrate import execute_script, revision_module

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE trips (
        id               uuid PRIMARY KEY,
        partner_id       uuid NOT NULL REFERENCES partners (id),
        vehicle_id       uuid NOT NULL REFERENCES vehicles (id),
        port_code        text NOT NULL REFERENCES ports (code),
        direction        text NOT NULL CHECK (direction IN ('entry', 'exit')),
        expected_at      timestamptz NOT NULL,
        cargo_reference  text,
        status           text NOT NULL
                         CHECK (status IN ('approved', 'referred', 'rejected', 'cancelled')),
        reasons          jsonb NOT NULL,
        amendments       integer NOT NULL DEFAULT 0,
        cancelled_at     timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now(),
        created_by       text NOT NULL,
        updated_at       timestamptz NOT NULL DEFAULT now(),
        updated_by       text NOT NULL
    );
    CREATE INDEX trips_page ON trips (partner_id, created_at, id);

    CREATE TABLE trip_members (
        trip_id       uuid NOT NULL REFERENCES trips (id),
        position      smallint NOT NULL,
        traveller_id  uuid NOT NULL REFERENCES travellers (id),
        role          text NOT NULL CHECK (role IN ('driver', 'co_driver', 'passenger')),
        clearance_id  uuid NOT NULL REFERENCES clearances (id),
        PRIMARY KEY (trip_id, position)
    );
    CREATE INDEX trip_members_clearance ON trip_members (clearance_id);

    CREATE TABLE trip_tokens (
        jti               text PRIMARY KEY,
        trip_id           uuid NOT NULL REFERENCES trips (id),
        kid               text NOT NULL,
        token             text NOT NULL,
        not_before        timestamptz NOT NULL,
        expires_at        timestamptz NOT NULL,
        created_at        timestamptz NOT NULL DEFAULT now(),
        revoked_at        timestamptz,
        revoked_by        text,
        revocation_reason text,
        revocation_seq    bigint UNIQUE,
        CONSTRAINT revoked_whole CHECK ((revoked_at IS NULL) = (revocation_seq IS NULL))
    );
    CREATE INDEX trip_tokens_trip ON trip_tokens (trip_id, created_at);
    CREATE INDEX trip_tokens_kid_expiry ON trip_tokens (kid, expires_at);

    ALTER TABLE crossings ALTER COLUMN clearance_id DROP NOT NULL;
    ALTER TABLE crossings ADD COLUMN trip_id uuid, ADD COLUMN vehicle_id uuid;
    CREATE INDEX crossings_trip ON crossings (trip_id, crossed_at) WHERE trip_id IS NOT NULL;
    ALTER TABLE verification_events ADD COLUMN trip_id uuid;

    ALTER TYPE gl_verification ADD ATTRIBUTE trip_id uuid, ADD ATTRIBUTE members jsonb;
    """)
    execute_script(TRIP_FUNCTIONS)
    execute_script(RECORD_TRIPS)
    execute_script(_default_trip_rules())


def _default_trip_rules() -> str:
    """Version 1 of every default trip rule and its history row, written as revision 0003
    writes the others."""
    rules = revision_module("0003_rules_and_watchlist.py")
    content = rules._CONTENT
    rows = ",\n        ".join(rules._default_rule_row(rule) for rule in DEFAULT_TRIP_RULES)
    return f"""
    INSERT INTO rules (id, version, {content}, created_by, updated_by) VALUES
        {rows};
    INSERT INTO rule_versions (rule_id, version, change, {content}, written_at, written_by)
        SELECT id, version, 'create', {content}, created_at, created_by FROM rules
        WHERE id IN ({_TRIP_RULE_IDS});
    """  # noqa: S608 - literals quoted by revision 0003's helpers, from our own module


_TRIP_RULE_IDS = ", ".join(f"'{rule.id}'::uuid" for rule in DEFAULT_TRIP_RULES)


TRIP_FUNCTIONS = """
    -- The names a trip answer carries, read when answering (a replay too), never stored: each
    -- member not denied gets its holder, and a trip not denied its vehicle.
    CREATE FUNCTION gl_trip_people(answer jsonb) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
        SELECT jsonb_build_object(
            'members', coalesce((
                SELECT jsonb_agg(m.value || (gl_people(jsonb_build_object(
                           'clearance_id', m.value->'clearance_id',
                           'decision', m.value->'decision')) - 'vehicle')
                       ORDER BY m.position)
                FROM jsonb_array_elements(answer->'members') WITH ORDINALITY AS m(value, position)
            ), '[]'::jsonb),
            'vehicle', (
                SELECT jsonb_build_object('plate', v.plate, 'kind', v.kind)
                FROM trips t JOIN vehicles v ON v.id = t.vehicle_id
                WHERE t.id = (answer->>'trip_id')::uuid AND v.plate IS NOT NULL
                  AND answer->>'decision' <> 'deny'))
    $$;

    -- One trip verification, in the caller's transaction; returns its answer (without names).
    -- Set-based, a statement for all the members at once rather than one each: a trip costs
    -- its batch a few statements more than one clearance, whatever its size.
    CREATE FUNCTION gl_record_trip(item gl_verification) RETURNS jsonb
    LANGUAGE plpgsql AS $$
    DECLARE
        members  jsonb;
        outcome  text := item.decision;
        lost     boolean;
        checked  boolean;
        wanted   uuid[];
        claimed  uuid[];
    BEGIN
        -- As for one clearance: a revocation the worker has not heard of yet still counts, and
        -- so does a suspension (a trip token names no member's status list entry: the database
        -- is where a member's suspension is known); a single entry used in this direction (by
        -- any lane) denies its member; and a second-line check an officer asked for refers the
        -- member it was asked for (online: a degraded answer was given already, from memory).
        -- One look at each clearance.
        SELECT jsonb_agg(m.value || CASE
                             WHEN x.denied = '[]'::jsonb AND x.referred = '[]'::jsonb
                             THEN '{}'::jsonb
                             ELSE jsonb_build_object(
                                 'decision', CASE WHEN x.denied <> '[]'::jsonb
                                                    OR m.value->>'decision' = 'deny'
                                                  THEN 'deny' ELSE 'refer' END,
                                 'codes', (m.value->'codes') || x.denied || x.referred) END
                         ORDER BY m.position),
               bool_or(x.denied <> '[]'::jsonb),
               bool_or(x.referred <> '[]'::jsonb)
            INTO members, lost, checked
            FROM jsonb_array_elements(item.members) WITH ORDINALITY AS m(value, position)
            LEFT JOIN clearances c ON c.id = (m.value->>'clearance_id')::uuid
            CROSS JOIN LATERAL (SELECT
                CASE WHEN m.value->>'decision' <> 'deny' AND c.revoked_at IS NOT NULL
                     THEN '["token_revoked"]'::jsonb ELSE '[]'::jsonb END
                || CASE WHEN m.value->>'decision' <> 'deny' AND c.suspended_at IS NOT NULL
                     THEN '["token_suspended"]'::jsonb ELSE '[]'::jsonb END
                || CASE WHEN (m.value->>'single_entry')::boolean AND EXISTS (
                         SELECT 1 FROM single_entry_uses u
                         WHERE u.clearance_id = c.id AND u.direction = item.direction)
                     THEN '["already_used"]'::jsonb ELSE '[]'::jsonb END AS denied,
                CASE WHEN c.second_line_requested_at IS NOT NULL
                          AND m.value->>'decision' <> 'deny' AND item.mode = 'online'
                          AND NOT (m.value->'codes') ? 'second_line_check'
                     THEN '["second_line_check"]'::jsonb ELSE '[]'::jsonb END AS referred) x;
        IF lost THEN
            outcome := 'deny';
        ELSIF checked AND outcome = 'green' THEN
            outcome := 'refer';
        END IF;
        -- The check is the officer's now: each flag clears in this transaction, in the history
        -- of its application, as for one clearance.
        IF checked THEN
            WITH cleared AS (
                UPDATE clearances c SET second_line_requested_at = NULL,
                                        second_line_requested_by = NULL
                    FROM jsonb_array_elements(members) m
                    WHERE c.id = (m->>'clearance_id')::uuid
                      AND (m->'codes') ? 'second_line_check'
                      AND c.second_line_requested_at IS NOT NULL
                    RETURNING c.application_id, c.id)
            INSERT INTO application_history (application_id, actor, party, event, details)
                SELECT application_id, 'client:' || item.lane_client, 'lane',
                       'clearance.second_line_done',
                       jsonb_build_object('clearance_id', id, 'event_id', item.event_id,
                                          'port_code', item.port_code)
                FROM cleared;
        END IF;

        -- Single entries are claimed only for a trip that crosses, and all or none: a claim
        -- lost to another lane at this moment denies that member and gives back the others.
        IF outcome = 'green' THEN
            wanted := ARRAY(SELECT (m->>'clearance_id')::uuid
                            FROM jsonb_array_elements(members) m
                            WHERE (m->>'single_entry')::boolean);
            IF cardinality(wanted) > 0 THEN
                WITH won AS (
                    INSERT INTO single_entry_uses (clearance_id, direction, event_id, used_at)
                        SELECT id, item.direction, item.event_id, item.occurred_at
                        FROM unnest(wanted) AS id
                        ON CONFLICT DO NOTHING RETURNING clearance_id)
                SELECT coalesce(array_agg(clearance_id), '{}') INTO claimed FROM won;
                IF cardinality(claimed) < cardinality(wanted) THEN
                    outcome := 'deny';
                    DELETE FROM single_entry_uses
                        WHERE event_id = item.event_id AND clearance_id = ANY(claimed);
                    SELECT jsonb_agg(CASE
                               WHEN (m.value->>'single_entry')::boolean
                                    AND NOT (m.value->>'clearance_id')::uuid = ANY(claimed)
                               THEN m.value || jsonb_build_object(
                                   'decision', 'deny',
                                   'codes', (m.value->'codes') || '"already_used"'::jsonb)
                               ELSE m.value END ORDER BY m.position)
                        INTO members
                        FROM jsonb_array_elements(members) WITH ORDINALITY AS m(value, position);
                END IF;
            END IF;
        END IF;

        IF outcome = 'green' THEN
            INSERT INTO crossings (id, clearance_id, trip_id, vehicle_id, direction, port_code,
                                   lane_code, lane_client, event_id, mode, crossed_at)
                SELECT item.crossing_id, NULL, item.trip_id, t.vehicle_id, item.direction,
                       item.port_code, item.lane_code, item.lane_client, item.event_id,
                       item.mode, item.occurred_at
                FROM trips t WHERE t.id = item.trip_id
                UNION ALL
                SELECT (m->>'crossing_id')::uuid, (m->>'clearance_id')::uuid, item.trip_id,
                       NULL, item.direction, item.port_code, item.lane_code, item.lane_client,
                       item.event_id, item.mode, item.occurred_at
                FROM jsonb_array_elements(members) m;
        END IF;

        -- The lane's audit: the trip itself, and each member under their own clearance.
        INSERT INTO verification_events (event_id, lane_client, port_code, lane_code,
                                         clearance_id, trip_id, direction, decision, codes,
                                         mode, latency_us, occurred_at)
            SELECT item.event_id, item.lane_client, item.port_code, item.lane_code, NULL,
                   item.trip_id, item.direction, outcome, item.codes, item.mode,
                   item.latency_us, item.occurred_at
            UNION ALL
            SELECT item.event_id, item.lane_client, item.port_code, item.lane_code,
                   (m->>'clearance_id')::uuid, item.trip_id, item.direction, m->>'decision',
                   ARRAY(SELECT jsonb_array_elements_text(m->'codes')), item.mode,
                   item.latency_us, item.occurred_at
            FROM jsonb_array_elements(members) m;

        RETURN jsonb_build_object(
            'decision', outcome, 'codes', to_jsonb(item.codes), 'trip_id', item.trip_id,
            'crossing_id', CASE WHEN outcome = 'green' THEN item.crossing_id END,
            'members', (
                SELECT coalesce(jsonb_agg(jsonb_build_object(
                           'role', m.value->'role', 'decision', m.value->'decision',
                           'codes', m.value->'codes', 'clearance_id', m.value->'clearance_id',
                           'crossing_id', CASE WHEN outcome = 'green'
                                               THEN m.value->'crossing_id' END)
                           ORDER BY m.position), '[]'::jsonb)
                FROM jsonb_array_elements(members) WITH ORDINALITY AS m(value, position)),
            'mode', item.mode, 'checked_at', item.checked_at);
    END
    $$;
"""

# gl_record_verifications() of revision 0008 for trips: the same claim of (lane, event id), the
# same replay, the reply stored without names and answered with them.
RECORD_TRIPS = """
    CREATE FUNCTION gl_record_trips(items jsonb)
    RETURNS TABLE (item_index integer, replayed boolean, differs boolean, reply jsonb)
    LANGUAGE plpgsql AS $$
    DECLARE
        item        gl_verification;
        n           integer := 0;
        sha         bytea;
        stored      record;
        answer      jsonb;
    BEGIN
        FOR item IN SELECT * FROM jsonb_populate_recordset(NULL::gl_verification, items) LOOP
            sha := decode(item.request_sha, 'hex');
            INSERT INTO verify_replies (lane_client, event_id, request_sha, reply)
                VALUES (item.lane_client, item.event_id, sha, '{}'::jsonb)
                ON CONFLICT DO NOTHING;
            IF NOT FOUND THEN
                SELECT v.request_sha, v.reply INTO stored
                    FROM verify_replies v
                    WHERE v.lane_client = item.lane_client AND v.event_id = item.event_id;
                item_index := n; replayed := true; differs := stored.request_sha <> sha;
                reply := stored.reply || gl_trip_people(stored.reply);
                RETURN NEXT;
                n := n + 1;
                CONTINUE;
            END IF;
            answer := gl_record_trip(item);
            UPDATE verify_replies SET reply = answer
                WHERE verify_replies.lane_client = item.lane_client
                  AND verify_replies.event_id = item.event_id;
            item_index := n; replayed := false; differs := false;
            reply := answer || gl_trip_people(answer);
            RETURN NEXT;
            n := n + 1;
        END LOOP;
    END
    $$;
"""


def downgrade() -> None:
    # Irreversible for trips: a vehicle's crossing has no clearance to name, so it is deleted
    # before crossings must name a clearance again; the trips themselves go with their tables.
    execute_script("""
    DROP FUNCTION gl_record_trips(jsonb);
    DROP FUNCTION gl_record_trip(gl_verification);
    DROP FUNCTION gl_trip_people(jsonb);
    ALTER TYPE gl_verification DROP ATTRIBUTE members, DROP ATTRIBUTE trip_id;
    ALTER TABLE verification_events DROP COLUMN trip_id;
    DROP INDEX crossings_trip;
    DELETE FROM crossings WHERE clearance_id IS NULL;
    ALTER TABLE crossings DROP COLUMN vehicle_id, DROP COLUMN trip_id;
    ALTER TABLE crossings ALTER COLUMN clearance_id SET NOT NULL;
    DROP TABLE trip_tokens;
    DROP TABLE trip_members;
    DROP TABLE trips;
    """)
    # The default trip rules go too. Trip rules an administrator wrote stay, for an
    # administrator to delete: they name 'trip', which no worker of this revision knows.
    execute_script(f"""
    DELETE FROM rule_versions WHERE rule_id IN ({_TRIP_RULE_IDS});
    DELETE FROM rules WHERE id IN ({_TRIP_RULE_IDS});
    """)  # noqa: S608 - our own literals
