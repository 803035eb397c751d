"""gl_record_verifications(): a whole group-commit batch of lane verifications in one call.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

The lane hot path writes many verifications per round trip: one statement, one implicit
transaction, one commit. For each item, in order, the function

1. claims (lane, event_id) in verify_replies; an event already answered returns its stored
   reply (and whether the request differed), and nothing new is recorded;
2. enforces single entry: a green single-entry crossing must win the (clearance, direction) row
   of single_entry_uses, and any single-entry verification of a direction already used is
   denied with ``already_used``; this holds across workers and hosts;
3. records the crossing (green only) and the verification event (always);
4. reads the holder and vehicle for a green or refer answer, and stores the reply's parts, so
   that a replay is rebuilt byte for byte from the same values.
"""

from greenlane.migrate import execute_script

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE FUNCTION gl_record_verifications(items jsonb)
    RETURNS TABLE (item_index integer, replayed boolean, differs boolean, reply jsonb)
    LANGUAGE plpgsql AS $$
    DECLARE
        item        jsonb;
        n           integer := 0;
        lane        uuid;
        event       uuid;
        sha         bytea;
        clearance   uuid;
        stored      record;
        outcome     text;
        codes       text[];
        crossing    uuid;
        holder      jsonb;
        seen        jsonb;
        answer      jsonb;
    BEGIN
        FOR item IN SELECT value FROM jsonb_array_elements(items) LOOP
            lane := (item->>'lane_client')::uuid;
            event := (item->>'event_id')::uuid;
            sha := decode(item->>'request_sha', 'hex');
            clearance := (item->>'clearance_id')::uuid;
            INSERT INTO verify_replies (lane_client, event_id, request_sha, reply)
                VALUES (lane, event, sha, '{}'::jsonb)
                ON CONFLICT DO NOTHING;
            IF NOT FOUND THEN
                SELECT v.request_sha, v.reply INTO stored
                    FROM verify_replies v WHERE v.lane_client = lane AND v.event_id = event;
                item_index := n; replayed := true; differs := stored.request_sha <> sha;
                reply := stored.reply;
                RETURN NEXT;
                n := n + 1;
                CONTINUE;
            END IF;

            outcome := item->>'decision';
            codes := ARRAY(SELECT jsonb_array_elements_text(item->'codes'));
            IF (item->>'single_entry')::boolean AND clearance IS NOT NULL THEN
                IF outcome = 'green' THEN
                    INSERT INTO single_entry_uses (clearance_id, direction, event_id, used_at)
                        VALUES (clearance, item->>'direction', event,
                                (item->>'occurred_at')::timestamptz)
                        ON CONFLICT DO NOTHING;
                    IF NOT FOUND THEN
                        outcome := 'deny';
                        codes := codes || 'already_used'::text;
                    END IF;
                ELSIF EXISTS (SELECT 1 FROM single_entry_uses u
                              WHERE u.clearance_id = clearance
                                AND u.direction = item->>'direction') THEN
                    outcome := 'deny';
                    codes := codes || 'already_used'::text;
                END IF;
            END IF;

            crossing := NULL;
            IF outcome = 'green' THEN
                crossing := (item->>'crossing_id')::uuid;
                INSERT INTO crossings (id, clearance_id, direction, port_code, lane_code,
                                       lane_client, event_id, mode, crossed_at)
                    VALUES (crossing, clearance, item->>'direction', item->>'port_code',
                            item->>'lane_code', lane, event, item->>'mode',
                            (item->>'occurred_at')::timestamptz);
            END IF;
            INSERT INTO verification_events (event_id, lane_client, port_code, lane_code,
                                             clearance_id, direction, decision, codes, mode,
                                             latency_us, occurred_at)
                VALUES (event, lane, item->>'port_code', item->>'lane_code', clearance,
                        item->>'direction', outcome, codes, item->>'mode',
                        (item->>'latency_us')::integer, (item->>'occurred_at')::timestamptz);

            holder := NULL;
            seen := NULL;
            IF outcome <> 'deny' AND clearance IS NOT NULL THEN
                SELECT jsonb_strip_nulls(jsonb_build_object(
                           'given_names', t.given_names, 'surname', t.surname,
                           'nationality', t.nationality, 'category', t.category)),
                       CASE WHEN v.plate IS NULL THEN NULL
                            ELSE jsonb_build_object('plate', v.plate, 'kind', v.kind) END
                    INTO holder, seen
                    FROM clearances c
                    JOIN travellers t ON t.id = c.traveller_id
                    LEFT JOIN vehicles v ON v.id = c.vehicle_id
                    WHERE c.id = clearance;
            END IF;
            answer := jsonb_build_object(
                'decision', outcome, 'codes', to_jsonb(codes), 'crossing_id', crossing,
                'clearance_id', clearance, 'holder', holder, 'vehicle', seen,
                'mode', item->'mode', 'checked_at', item->'checked_at');
            UPDATE verify_replies SET reply = answer
                WHERE verify_replies.lane_client = lane AND verify_replies.event_id = event;
            item_index := n; replayed := false; differs := false; reply := answer;
            RETURN NEXT;
            n := n + 1;
        END LOOP;
    END
    $$;
    """)


def downgrade() -> None:
    execute_script("DROP FUNCTION gl_record_verifications(jsonb);")
