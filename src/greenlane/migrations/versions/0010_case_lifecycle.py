"""The life of a case after its first decision: requests for information, grounds and appeals,
renewals, a new travel document, false hits and second-line checks.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

- An application may now also be ``info_requested`` (a reviewer asked for items from a fixed
  list, answered by the partner or rejected with grounds ``info_not_provided`` past its due
  date) or ``appealed`` (a rejection the partner contests within the appeal window).
- A rejection keeps its grounds (codes and messages of the rules and watchlist entries that
  decided; never a watched number), who rejected, and until when it may be appealed. An
  application is appealed at most once (``appeals``), and the appeal's outcome is final.
- ``application_history`` is the case's own timeline, shown to its partner; every step is also
  in the audit log.
- A renewal is an application that names the clearance it renews.
- ``false_hits``: a reviewer found that a watchlist entry's hit on a traveller was not them. The
  mark holds the entry's version: editing an entry bumps it, and the mark lapses.
- A clearance may carry a second-line check, which ``gl_record_verifications()`` turns into a
  ``refer`` (``second_line_check``) at the next online verification and clears in the same
  transaction. The function is otherwise 0008's; the revocation check now reads the clearance
  row once for both.
"""

from greenlane.migrate import execute_script, revision_module

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    ALTER TABLE applications DROP CONSTRAINT applications_status_check;
    ALTER TABLE applications ADD CONSTRAINT applications_status_check CHECK (
        status IN ('approved', 'referred', 'rejected', 'info_requested', 'appealed'));
    ALTER TABLE applications
        ADD COLUMN renews_clearance_id uuid REFERENCES clearances (id),
        ADD COLUMN grounds             jsonb,
        ADD COLUMN rejected_at         timestamptz,
        ADD COLUMN rejected_by         text,
        ADD COLUMN appeal_until        timestamptz;
    CREATE INDEX applications_renewals ON applications (renews_clearance_id)
        WHERE renews_clearance_id IS NOT NULL;
    CREATE INDEX applications_waiting ON applications (status, created_at, id)
        WHERE status IN ('info_requested', 'appealed');

    CREATE TABLE information_requests (
        id            uuid PRIMARY KEY,
        application_id uuid NOT NULL REFERENCES applications (id),
        items         text[] NOT NULL CHECK (cardinality(items) > 0),
        message       text NOT NULL,
        requested_by  text NOT NULL,
        requested_at  timestamptz NOT NULL,
        due_at        timestamptz NOT NULL,
        answered_at   timestamptz,
        answered_by   text,
        statement     text,
        updated       text[],          -- which registrations the answer changed
        expired_at    timestamptz,
        CONSTRAINT closed_once CHECK (answered_at IS NULL OR expired_at IS NULL)
    );
    CREATE UNIQUE INDEX information_requests_open ON information_requests (application_id)
        WHERE answered_at IS NULL AND expired_at IS NULL;
    CREATE INDEX information_requests_due ON information_requests (due_at)
        WHERE answered_at IS NULL AND expired_at IS NULL;
    CREATE INDEX information_requests_of ON information_requests (application_id, requested_at);

    CREATE TABLE appeals (
        application_id uuid PRIMARY KEY REFERENCES applications (id),
        grounds        text NOT NULL,
        filed_by       text NOT NULL,
        filed_at       timestamptz NOT NULL,
        rejected_by    text,            -- who rejected: never the one who decides the appeal
        decision       text CHECK (decision IN ('approve', 'reject')),
        note           text,
        decided_by     text,
        decided_at     timestamptz,
        CONSTRAINT four_eyes CHECK (decided_by IS DISTINCT FROM rejected_by OR decided_by IS NULL)
    );

    CREATE TABLE application_history (
        id             bigserial PRIMARY KEY,
        application_id uuid NOT NULL REFERENCES applications (id),
        at             timestamptz NOT NULL DEFAULT now(),
        actor          text NOT NULL,
        -- Which side acted, as the partner is shown it: partner, agency, lane or system.
        party          text NOT NULL CHECK (party IN ('partner', 'agency', 'lane', 'system')),
        event          text NOT NULL,
        details        jsonb NOT NULL DEFAULT '{}'::jsonb
    );
    CREATE INDEX application_history_of ON application_history (application_id, id);

    ALTER TABLE watchlist
        ADD COLUMN version    integer NOT NULL DEFAULT 1,
        ADD COLUMN updated_at timestamptz,
        ADD COLUMN updated_by text;

    CREATE TABLE false_hits (
        traveller_id   uuid NOT NULL REFERENCES travellers (id),
        entry_id       uuid NOT NULL REFERENCES watchlist (id) ON DELETE CASCADE,
        entry_version  integer NOT NULL,
        application_id uuid NOT NULL REFERENCES applications (id),
        note           text NOT NULL,
        marked_by      text NOT NULL,
        marked_at      timestamptz NOT NULL,
        PRIMARY KEY (traveller_id, entry_id)
    );

    ALTER TABLE clearances
        ADD COLUMN second_line_requested_at timestamptz,
        ADD COLUMN second_line_requested_by text;
    """)
    execute_script(RECORD_VERIFICATIONS)


def downgrade() -> None:
    # Revision 0008's function from its own text. Applications in a state 0009 does not know
    # (info_requested, appealed) stop the downgrade at the status constraint: a downgrade must
    # not decide them.
    execute_script(revision_module("0008_typed_verification_record.py").RECORD_VERIFICATIONS)
    execute_script("""
    ALTER TABLE clearances
        DROP COLUMN second_line_requested_by,
        DROP COLUMN second_line_requested_at;
    DROP TABLE false_hits;
    ALTER TABLE watchlist DROP COLUMN updated_by, DROP COLUMN updated_at, DROP COLUMN version;
    DROP TABLE application_history;
    DROP TABLE appeals;
    DROP TABLE information_requests;
    DROP INDEX applications_waiting;
    DROP INDEX applications_renewals;
    ALTER TABLE applications
        DROP COLUMN appeal_until,
        DROP COLUMN rejected_by,
        DROP COLUMN rejected_at,
        DROP COLUMN grounds,
        DROP COLUMN renews_clearance_id;
    ALTER TABLE applications DROP CONSTRAINT applications_status_check;
    ALTER TABLE applications ADD CONSTRAINT applications_status_check
        CHECK (status IN ('approved', 'referred', 'rejected'));
    """)


RECORD_VERIFICATIONS = """
    CREATE OR REPLACE FUNCTION gl_record_verifications(items jsonb)
    RETURNS TABLE (item_index integer, replayed boolean, differs boolean, reply jsonb)
    LANGUAGE plpgsql AS $$
    DECLARE
        item        gl_verification;
        n           integer := 0;
        sha         bytea;
        stored      record;
        revoked     boolean;
        second_line timestamptz;
        application uuid;
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
            -- One look at the clearance (none without a clearance id: both stay NULL).
            SELECT c.revoked_at IS NOT NULL, c.second_line_requested_at
                INTO revoked, second_line
                FROM clearances c WHERE c.id = item.clearance_id;
            -- The worker checked its in-memory revocation list; a revocation that committed
            -- since (or that its listener missed while reconnecting) still stops a crossing.
            IF outcome <> 'deny' AND revoked THEN
                outcome := 'deny';
                codes := codes || 'token_revoked'::text;
            END IF;
            -- A second-line check refers the next online verification that would have let the
            -- traveller on (a degraded answer was given already, from memory). The flag clears
            -- in this transaction, once a verification that referred for it is recorded.
            IF second_line IS NOT NULL AND outcome <> 'deny' THEN
                IF item.mode = 'online' AND NOT 'second_line_check' = ANY(codes) THEN
                    outcome := 'refer';
                    codes := codes || 'second_line_check'::text;
                END IF;
                IF 'second_line_check' = ANY(codes) THEN
                    UPDATE clearances SET second_line_requested_at = NULL,
                                          second_line_requested_by = NULL
                        WHERE id = item.clearance_id AND second_line_requested_at = second_line
                        RETURNING application_id INTO application;
                    IF FOUND THEN
                        INSERT INTO application_history (application_id, actor, party, event,
                                                         details)
                            VALUES (application, 'client:' || item.lane_client, 'lane',
                                    'clearance.second_line_done',
                                    jsonb_build_object('clearance_id', item.clearance_id,
                                                       'event_id', item.event_id,
                                                       'port_code', item.port_code));
                    END IF;
                END IF;
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
