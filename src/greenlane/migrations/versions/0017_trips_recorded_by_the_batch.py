"""A group commit's trips are recorded by a few statements over the whole batch, not item by item.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04

``gl_record_trips()`` of revision 0015 looped over the batch in PL/pgSQL, about ten statements a
trip, and PostgreSQL spent about five times a single verify's CPU on a 4-person trip
(``bench/trip_recording.py``; figures in docs/performance.md). Most of it went on two things:
``gl_trip_people()`` named each answer's people with ``gl_people()``, an SQL function that
PostgreSQL planned again for every trip; and the members' check joined each trip's members to
``clearances``, which a plan made for a hundred members does by hashing the whole table.

``gl_record_trips()`` is now one PL/pgSQL function whose statements each take the whole batch:
check every member, claim the event ids with their replies, write the crossings and the lane's
audit, and answer with the names read in that statement. A batch with single-entry members or a
second-line check spends a statement more on each. Tables are read by key in subqueries (an
index probe per row of the batch, whatever the plan guessed of its size), plans are made once
per session (``plan_cache_mode``) and never compiled (``jit``); the function's comments say why.

Every promise is the one of revision 0015: an event id is answered once, from its stored reply
when it comes again (within one batch too), with the names read again; a crossing for every
member and one for the vehicle only when the whole trip stays green, none otherwise; single
entries claimed all or none, and only by an event id answered now; a second-line check asked for
on a member's clearance refers that member and clears in the same transaction. Stored replies
keep their shape, so one stored before this revision replays as it did. Two trips of one batch
that name the same flagged clearance are both referred (each is checked before either is
recorded), where the loop referred the first only.
"""

from greenlane.migrate import execute_script, revision_module

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    DROP FUNCTION gl_record_trips(jsonb);
    DROP FUNCTION gl_record_trip(gl_verification);
    DROP FUNCTION gl_trip_people(jsonb);
    """)
    execute_script(RECORD_TRIPS)


def downgrade() -> None:
    # Revision 0015's functions from its own text.
    execute_script("DROP FUNCTION gl_record_trips(jsonb);")
    trips = revision_module("0015_trips.py")
    execute_script(trips.TRIP_FUNCTIONS)
    execute_script(trips.RECORD_TRIPS)


RECORD_TRIPS = """
    CREATE FUNCTION gl_record_trips(items jsonb)
    RETURNS TABLE (item_index integer, replayed boolean, differs boolean, reply jsonb)
    LANGUAGE plpgsql
    -- Each statement is planned once per session, not for each batch: planned for the batch
    -- at hand (PostgreSQL's choice, the arrays being parameters) it cost more than it ran.
    -- Never compiled (JIT): the plans are priced for a thousand members, and the answers'
    -- statement crossed jit_above_cost, 60 ms of compiling for a batch of eight trips.
    SET plan_cache_mode = force_generic_plan
    SET jit = off
    AS $$
    DECLARE
        batch     gl_verification[];
        firsts    integer[];           -- the place in batch (from 1) of each event id's first item
        decided   gl_verification[];   -- those items, as the central record decides them
        checked   boolean;             -- a member's second-line check was asked for
        claiming  boolean;             -- a green trip has a single-entry member
        claimants uuid[];              -- event ids that claimed single entries in this call
        won       uuid[];              -- the clearances they claimed
        lost      uuid[];              -- event ids that lost a claim, and give back the others
        fresh     integer[];           -- the places in batch of the event ids answered now
        recorded  gl_verification[];   -- their items
        replies   jsonb[];             -- and their replies, as stored
    BEGIN
        batch := ARRAY(SELECT b FROM jsonb_populate_recordset(NULL::gl_verification, items) b);

        -- As for one clearance: a revocation the worker has not heard of yet still counts, and
        -- so does a suspension (a trip token names no member's status list entry: the database
        -- is where a member's suspension is known); a single entry used in this direction (by
        -- any lane) denies its member; and a second-line check an officer asked for refers the
        -- member it was asked for (online: a degraded answer was given already, from memory).
        -- One look at each member's clearance, for every trip of the batch at once; an event
        -- id named twice is decided once, for its first item.
        --
        -- Here and below, a table is read by key in a subquery, one index probe for each row
        -- of the batch, never joined to the batch: planned once for batches of any size
        -- (PostgreSQL guesses a thousand members), a join would hash the whole table.
        WITH trip AS (
            SELECT DISTINCT ON (b.lane_client, b.event_id)
                   b.ordinality::integer AS position, batch[b.ordinality::integer] AS item
            FROM unnest(batch) WITH ORDINALITY AS b
            ORDER BY b.lane_client, b.event_id, b.ordinality
        ), seated AS MATERIALIZED (
            -- Materialized, here and next: a member's look-ups run once, however often read.
            SELECT t.position, t.item, m.seat, m.value,
                   (SELECT c FROM clearances c WHERE c.id = (m.value->>'clearance_id')::uuid)
                       AS held
            FROM trip t, jsonb_array_elements((t.item).members) WITH ORDINALITY AS m(value, seat)
        ), member AS MATERIALIZED (
            SELECT s.position, s.seat, s.value,
                   CASE WHEN s.value->>'decision' <> 'deny' AND (s.held).revoked_at IS NOT NULL
                        THEN '["token_revoked"]'::jsonb ELSE '[]'::jsonb END
                   || CASE WHEN s.value->>'decision' <> 'deny'
                                AND (s.held).suspended_at IS NOT NULL
                        THEN '["token_suspended"]'::jsonb ELSE '[]'::jsonb END
                   -- Not EXISTS, which may be planned as a hash of the whole table.
                   || CASE WHEN (s.value->>'single_entry')::boolean AND (
                            SELECT true FROM single_entry_uses u
                            WHERE u.clearance_id = (s.held).id
                              AND u.direction = (s.item).direction)
                        THEN '["already_used"]'::jsonb ELSE '[]'::jsonb END AS denied,
                   CASE WHEN (s.held).second_line_requested_at IS NOT NULL
                             AND s.value->>'decision' <> 'deny' AND (s.item).mode = 'online'
                             AND NOT (s.value->'codes') ? 'second_line_check'
                        THEN '["second_line_check"]'::jsonb ELSE '[]'::jsonb END AS referred
            FROM seated s
        ), outcome AS (
            SELECT m.position,
                   jsonb_agg(m.value || CASE
                                 WHEN m.denied = '[]'::jsonb AND m.referred = '[]'::jsonb
                                 THEN '{}'::jsonb
                                 ELSE jsonb_build_object(
                                     'decision', CASE WHEN m.denied <> '[]'::jsonb
                                                        OR m.value->>'decision' = 'deny'
                                                      THEN 'deny' ELSE 'refer' END,
                                     'codes', (m.value->'codes') || m.denied || m.referred) END
                             ORDER BY m.seat) AS members,
                   bool_or(m.denied <> '[]'::jsonb) AS lost,
                   bool_or(m.referred <> '[]'::jsonb) AS checked,
                   bool_or((m.value->>'single_entry')::boolean) AS single
            FROM member m GROUP BY m.position)
        SELECT array_agg(t.position ORDER BY t.position),
               array_agg(jsonb_populate_record(t.item, jsonb_build_object(
                   'members', coalesce(o.members, '[]'::jsonb),
                   'decision', CASE WHEN o.lost THEN 'deny'
                                    WHEN o.checked AND (t.item).decision = 'green' THEN 'refer'
                                    ELSE (t.item).decision END)) ORDER BY t.position),
               coalesce(bool_or(o.checked), false),
               coalesce(bool_or(o.single AND NOT o.lost AND NOT o.checked
                                AND (t.item).decision = 'green'), false)
            INTO firsts, decided, checked, claiming
            FROM trip t LEFT JOIN outcome o ON o.position = t.position;

        -- Single entries are claimed only for a trip that crosses, and all or none: a claim
        -- lost to another lane, or to an earlier trip of this batch, denies that member, and
        -- the trip gives back its others below. An event id already answered claims nothing.
        IF claiming THEN
            WITH wanted AS (
                SELECT t.ordinality AS position, t.event_id, t.direction, t.occurred_at,
                       (m->>'clearance_id')::uuid AS member
                FROM unnest(decided) WITH ORDINALITY AS t, jsonb_array_elements(t.members) m
                WHERE t.decision = 'green' AND (m->>'single_entry')::boolean
                  AND (SELECT true FROM verify_replies v
                       WHERE v.lane_client = t.lane_client AND v.event_id = t.event_id) IS NULL
            ), taken AS (
                INSERT INTO single_entry_uses (clearance_id, direction, event_id, used_at)
                    SELECT w.member, w.direction, w.event_id, w.occurred_at FROM wanted w
                    ORDER BY w.member, w.direction, w.position
                    ON CONFLICT DO NOTHING RETURNING clearance_id, event_id
            ), missed AS (
                SELECT w.event_id, w.member FROM wanted w
                WHERE NOT EXISTS (SELECT 1 FROM taken k
                                  WHERE k.event_id = w.event_id AND k.clearance_id = w.member))
            SELECT ARRAY(
                       SELECT CASE WHEN t.event_id IN (SELECT x.event_id FROM missed x)
                              THEN jsonb_populate_record(t, jsonb_build_object(
                                  'decision', 'deny',
                                  'members', (
                                      SELECT jsonb_agg(CASE
                                          WHEN EXISTS (SELECT 1 FROM missed x
                                              WHERE x.event_id = t.event_id
                                                AND x.member = (m.value->>'clearance_id')::uuid)
                                          THEN m.value || jsonb_build_object(
                                              'decision', 'deny', 'codes',
                                              (m.value->'codes') || '"already_used"'::jsonb)
                                          ELSE m.value END ORDER BY m.seat)
                                      FROM jsonb_array_elements(t.members)
                                          WITH ORDINALITY AS m(value, seat))))
                              ELSE t END
                       FROM unnest(decided) t),
                   ARRAY(SELECT DISTINCT k.event_id FROM taken k),
                   ARRAY(SELECT k.clearance_id FROM taken k),
                   ARRAY(SELECT DISTINCT x.event_id FROM missed x)
                INTO decided, claimants, won, lost;
        END IF;

        -- An event id is answered once: its reply, without names, is stored as it is claimed,
        -- in key order (two batches that share event ids wait for each other, never deadlock).
        -- An event id that another transaction claimed first is a replay, answered below.
        WITH claimed AS (
            INSERT INTO verify_replies (lane_client, event_id, request_sha, reply)
                SELECT t.lane_client, t.event_id, decode(t.request_sha, 'hex'),
                       jsonb_build_object(
                           'decision', t.decision, 'codes', to_jsonb(t.codes),
                           'trip_id', t.trip_id,
                           'crossing_id', CASE WHEN t.decision = 'green' THEN t.crossing_id END,
                           'members', (
                               SELECT coalesce(jsonb_agg(jsonb_build_object(
                                          'role', m.value->'role',
                                          'decision', m.value->'decision',
                                          'codes', m.value->'codes',
                                          'clearance_id', m.value->'clearance_id',
                                          'crossing_id', CASE WHEN t.decision = 'green'
                                                              THEN m.value->'crossing_id' END)
                                          ORDER BY m.seat), '[]'::jsonb)
                               FROM jsonb_array_elements(t.members)
                                   WITH ORDINALITY AS m(value, seat)),
                           'mode', t.mode, 'checked_at', t.checked_at)
                FROM unnest(decided) t
                ORDER BY t.lane_client, t.event_id
                ON CONFLICT DO NOTHING
                RETURNING lane_client, event_id, verify_replies.reply AS stored)
        SELECT coalesce(array_agg(firsts[i] ORDER BY firsts[i]), '{}'),
               array_agg(decided[i] ORDER BY firsts[i]),
               array_agg(c.stored ORDER BY firsts[i])
            INTO fresh, recorded, replies
            FROM claimed c
            JOIN generate_subscripts(decided, 1) AS i
              ON (decided[i]).lane_client = c.lane_client AND (decided[i]).event_id = c.event_id;

        IF cardinality(won) > 0 THEN
            DELETE FROM single_entry_uses
                WHERE clearance_id = ANY(won)
                  AND (event_id = ANY(lost)
                       OR NOT event_id = ANY(ARRAY(SELECT r.event_id FROM unnest(recorded) r)));
        END IF;

        -- The check is the officer's now: each flag clears in this transaction, in the history
        -- of its application, as for one clearance.
        IF checked THEN
            WITH flagged AS (
                SELECT DISTINCT ON (clearance_id) (m->>'clearance_id')::uuid AS clearance_id,
                       t.lane_client, t.event_id, t.port_code
                FROM unnest(recorded) WITH ORDINALITY AS t, jsonb_array_elements(t.members) m
                WHERE (m->'codes') ? 'second_line_check'
                ORDER BY clearance_id, t.ordinality
            ), cleared AS (
                UPDATE clearances c SET second_line_requested_at = NULL,
                                        second_line_requested_by = NULL
                    WHERE c.id = ANY(ARRAY(SELECT f.clearance_id FROM flagged f))
                      AND c.second_line_requested_at IS NOT NULL
                    RETURNING c.application_id, c.id)
            INSERT INTO application_history (application_id, actor, party, event, details)
                SELECT c.application_id, 'client:' || f.lane_client, 'lane',
                       'clearance.second_line_done',
                       jsonb_build_object('clearance_id', c.id, 'event_id', f.event_id,
                                          'port_code', f.port_code)
                FROM cleared c JOIN flagged f ON f.clearance_id = c.id;
        END IF;

        -- A crossing for the vehicle and one for each member of a green trip; the lane's audit
        -- for every trip, and each member under their own clearance.
        WITH trip AS (
            SELECT * FROM unnest(recorded)
        ), member AS (
            SELECT t.*, m AS member FROM trip t, jsonb_array_elements(t.members) m
        ), crossed AS (
            INSERT INTO crossings (id, clearance_id, trip_id, vehicle_id, direction, port_code,
                                   lane_code, lane_client, event_id, mode, crossed_at)
                SELECT t.crossing_id, NULL, t.trip_id,
                       (SELECT v.vehicle_id FROM trips v WHERE v.id = t.trip_id), t.direction,
                       t.port_code, t.lane_code, t.lane_client, t.event_id, t.mode, t.occurred_at
                FROM trip t WHERE t.decision = 'green'
                UNION ALL
                SELECT (m.member->>'crossing_id')::uuid, (m.member->>'clearance_id')::uuid,
                       m.trip_id, NULL, m.direction, m.port_code, m.lane_code, m.lane_client,
                       m.event_id, m.mode, m.occurred_at
                FROM member m WHERE m.decision = 'green')
        INSERT INTO verification_events (event_id, lane_client, port_code, lane_code,
                                         clearance_id, trip_id, direction, decision, codes, mode,
                                         latency_us, occurred_at)
            SELECT t.event_id, t.lane_client, t.port_code, t.lane_code, NULL, t.trip_id,
                   t.direction, t.decision, t.codes, t.mode, t.latency_us, t.occurred_at
            FROM trip t
            UNION ALL
            SELECT m.event_id, m.lane_client, m.port_code, m.lane_code,
                   (m.member->>'clearance_id')::uuid, m.trip_id, m.direction,
                   m.member->>'decision',
                   ARRAY(SELECT jsonb_array_elements_text(m.member->'codes')),
                   m.mode, m.latency_us, m.occurred_at
            FROM member m;

        -- Every answer: the reply stored now, or for a replay the one stored before, with the
        -- names read now (never stored): each member not denied gets their holder, as
        -- gl_people() names one clearance's, and a trip not denied its vehicle.
        RETURN QUERY
            WITH answer AS MATERIALIZED (
                SELECT b.ordinality AS position, b.request_sha, f.reply AS given,
                       CASE WHEN f.reply IS NULL THEN (
                           SELECT v FROM verify_replies v
                           WHERE v.lane_client = b.lane_client AND v.event_id = b.event_id) END
                           AS stored
                FROM unnest(batch) WITH ORDINALITY AS b
                LEFT JOIN unnest(fresh, replies) AS f(position, reply)
                       ON f.position = b.ordinality
            ), replied AS (
                SELECT a.position, a.given IS NULL AS again,
                       a.given IS NULL AND (a.stored).request_sha <> decode(a.request_sha, 'hex')
                           AS other,
                       coalesce(a.given, (a.stored).reply) AS stored
                FROM answer a)
            SELECT (r.position - 1)::integer, r.again, r.other,
                   r.stored || jsonb_build_object(
                       'members', (
                           SELECT coalesce(jsonb_agg(m.value || coalesce((
                                      SELECT jsonb_build_object('holder', CASE
                                          WHEN h.surname IS NULL THEN NULL
                                          ELSE jsonb_strip_nulls(jsonb_build_object(
                                              'given_names', h.given_names,
                                              'surname', h.surname,
                                              'nationality', h.nationality,
                                              'category', h.category)) END)
                                      FROM clearances c JOIN travellers h ON h.id = c.traveller_id
                                      WHERE c.id = (m.value->>'clearance_id')::uuid
                                        AND m.value->>'decision' <> 'deny'), '{}'::jsonb)
                                      ORDER BY m.seat), '[]'::jsonb)
                           FROM jsonb_array_elements(r.stored->'members')
                               WITH ORDINALITY AS m(value, seat)),
                       'vehicle', (
                           SELECT jsonb_build_object('plate', w.plate, 'kind', w.kind)
                           FROM trips t JOIN vehicles w ON w.id = t.vehicle_id
                           WHERE t.id = (r.stored->>'trip_id')::uuid AND w.plate IS NOT NULL
                             AND r.stored->>'decision' <> 'deny'))
            FROM replied r
            ORDER BY r.position;
    END
    $$;
"""
