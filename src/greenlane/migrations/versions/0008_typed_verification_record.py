"""gl_record_verifications() reads each item as the typed record gl_verification.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

The worker sends a batch of ``greenlane.domain.verification.VerificationRecord`` Structs as one
JSON array. Until now the function read them key by key (``item->>'lane_client'``), so a key
misspelt on either side read NULL without a word. Now ``jsonb_populate_recordset`` turns the
array into rows of the composite type ``gl_verification``, whose attributes are the Struct's
fields (a test compares the two): every value is typed once, on the way in, and a field the
function names that the type does not have is an error, not a NULL. Behaviour is unchanged;
``checked_at`` is now a timestamptz, answered in the session's time zone (UTC, set by the pool).
"""

from greenlane.migrate import execute_script, revision_module

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TYPE gl_verification AS (
        lane_client   uuid,
        event_id      uuid,
        request_sha   text,
        port_code     text,
        lane_code     text,
        direction     text,
        decision      text,
        codes         text[],
        single_entry  boolean,
        mode          text,
        latency_us    integer,
        occurred_at   timestamptz,
        checked_at    timestamptz,
        clearance_id  uuid,
        crossing_id   uuid
    );
    """)
    execute_script(RECORD_VERIFICATIONS)


def downgrade() -> None:
    # Revision 0007's function from its own text; it reads the items key by key again.
    execute_script(revision_module("0007_replies_name_nobody.py").RECORD_VERIFICATIONS)
    execute_script("DROP TYPE gl_verification;")


RECORD_VERIFICATIONS = """
    CREATE OR REPLACE FUNCTION gl_record_verifications(items jsonb)
    RETURNS TABLE (item_index integer, replayed boolean, differs boolean, reply jsonb)
    LANGUAGE plpgsql AS $$
    DECLARE
        item        gl_verification;
        n           integer := 0;
        sha         bytea;
        stored      record;
        outcome     text;
        codes       text[];
        crossing    uuid;
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
                reply := stored.reply || gl_people(stored.reply);
                RETURN NEXT;
                n := n + 1;
                CONTINUE;
            END IF;

            outcome := item.decision;
            codes := item.codes;
            -- The worker checked its in-memory revocation list; a revocation that committed
            -- since (or that its listener missed while reconnecting) still stops a crossing.
            IF outcome <> 'deny' AND item.clearance_id IS NOT NULL
               AND EXISTS (SELECT 1 FROM clearances c
                           WHERE c.id = item.clearance_id AND c.revoked_at IS NOT NULL) THEN
                outcome := 'deny';
                codes := codes || 'token_revoked'::text;
            END IF;
            IF item.single_entry AND item.clearance_id IS NOT NULL THEN
                IF outcome = 'green' THEN
                    INSERT INTO single_entry_uses (clearance_id, direction, event_id, used_at)
                        VALUES (item.clearance_id, item.direction, item.event_id,
                                item.occurred_at)
                        ON CONFLICT DO NOTHING;
                    IF NOT FOUND THEN
                        outcome := 'deny';
                        codes := codes || 'already_used'::text;
                    END IF;
                ELSIF EXISTS (SELECT 1 FROM single_entry_uses u
                              WHERE u.clearance_id = item.clearance_id
                                AND u.direction = item.direction) THEN
                    outcome := 'deny';
                    codes := codes || 'already_used'::text;
                END IF;
            END IF;

            crossing := NULL;
            IF outcome = 'green' THEN
                crossing := item.crossing_id;
                INSERT INTO crossings (id, clearance_id, direction, port_code, lane_code,
                                       lane_client, event_id, mode, crossed_at)
                    VALUES (crossing, item.clearance_id, item.direction, item.port_code,
                            item.lane_code, item.lane_client, item.event_id, item.mode,
                            item.occurred_at);
            END IF;
            INSERT INTO verification_events (event_id, lane_client, port_code, lane_code,
                                             clearance_id, direction, decision, codes, mode,
                                             latency_us, occurred_at)
                VALUES (item.event_id, item.lane_client, item.port_code, item.lane_code,
                        item.clearance_id, item.direction, outcome, codes, item.mode,
                        item.latency_us, item.occurred_at);

            answer := jsonb_build_object(
                'decision', outcome, 'codes', to_jsonb(codes), 'crossing_id', crossing,
                'clearance_id', item.clearance_id, 'mode', item.mode,
                'checked_at', item.checked_at);
            UPDATE verify_replies SET reply = answer
                WHERE verify_replies.lane_client = item.lane_client
                  AND verify_replies.event_id = item.event_id;
            item_index := n; replayed := false; differs := false;
            reply := answer || gl_people(answer);
            RETURN NEXT;
            n := n + 1;
        END LOOP;
    END
    $$;
"""
