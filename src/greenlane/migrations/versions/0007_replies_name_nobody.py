"""Stored verify replies name nobody; revocation re-checked at commit; idempotent answers know
what they created.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

- ``gl_record_verifications()`` no longer stores the holder and vehicle in a reply: it adds them
  as it answers (``gl_people``), for a replay too, so a stored reply holds no names and a replay
  after an erasure names nobody.
- It checks the clearance against the revocations table once more, so that a revocation
  committed a moment before (or one a worker's listener missed while reconnecting) cannot let a
  crossing through.
- ``idempotency_keys.resource_id`` records what a stored answer created: erasing that record
  deletes the stored answer with it.
"""

from greenlane.migrate import execute_script, revision_module

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    ALTER TABLE idempotency_keys ADD COLUMN resource_id uuid;
    CREATE INDEX idempotency_keys_resource ON idempotency_keys (resource_id);
    """)
    execute_script(PEOPLE)
    execute_script(RECORD_VERIFICATIONS)


PEOPLE = """
    -- The holder and vehicle a green or refer answer names, read when answering (also for a
    -- replay), so that stored replies hold no names and an erasure takes them out of replays.
    CREATE FUNCTION gl_people(answer jsonb) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
        SELECT coalesce((
            SELECT jsonb_build_object(
                'holder', CASE WHEN t.surname IS NULL THEN NULL ELSE jsonb_strip_nulls(
                    jsonb_build_object('given_names', t.given_names, 'surname', t.surname,
                                       'nationality', t.nationality, 'category', t.category))
                          END,
                'vehicle', CASE WHEN v.plate IS NULL THEN NULL
                                ELSE jsonb_build_object('plate', v.plate, 'kind', v.kind) END)
            FROM clearances c
            JOIN travellers t ON t.id = c.traveller_id
            LEFT JOIN vehicles v ON v.id = c.vehicle_id
            WHERE c.id = (answer->>'clearance_id')::uuid AND answer->>'decision' <> 'deny'
        ), '{}'::jsonb)
    $$;
"""

# Kept apart so that revision 0008's downgrade restores this function from this text.
RECORD_VERIFICATIONS = """
    CREATE OR REPLACE FUNCTION gl_record_verifications(items jsonb)
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
                reply := stored.reply || gl_people(stored.reply);
                RETURN NEXT;
                n := n + 1;
                CONTINUE;
            END IF;

            outcome := item->>'decision';
            codes := ARRAY(SELECT jsonb_array_elements_text(item->'codes'));
            -- The worker checked its in-memory revocation list; a revocation that committed
            -- since (or that its listener missed while reconnecting) still stops a crossing.
            IF outcome <> 'deny' AND clearance IS NOT NULL
               AND EXISTS (SELECT 1 FROM clearances c
                           WHERE c.id = clearance AND c.revoked_at IS NOT NULL) THEN
                outcome := 'deny';
                codes := codes || 'token_revoked'::text;
            END IF;
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

            answer := jsonb_build_object(
                'decision', outcome, 'codes', to_jsonb(codes), 'crossing_id', crossing,
                'clearance_id', clearance, 'mode', item->'mode',
                'checked_at', item->'checked_at');
            UPDATE verify_replies SET reply = answer
                WHERE verify_replies.lane_client = lane AND verify_replies.event_id = event;
            item_index := n; replayed := false; differs := false;
            reply := answer || gl_people(answer);
            RETURN NEXT;
            n := n + 1;
        END LOOP;
    END
    $$;
"""


def downgrade() -> None:
    execute_script("""
    DROP FUNCTION gl_record_verifications(jsonb);
    DROP FUNCTION gl_people(jsonb);
    DROP INDEX idempotency_keys_resource;
    ALTER TABLE idempotency_keys DROP COLUMN resource_id;
    """)
    # Revision 0006 itself restores its function, from its own text.
    revision_module("0006_record_verifications.py").upgrade()
