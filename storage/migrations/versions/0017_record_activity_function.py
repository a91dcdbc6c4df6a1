"""PostgreSQL: record an activity in one round trip (a server-side function)

An answer or a check-in inserts the ledger row, adds its points to the three buckets, shares the day with a
linked learner's other accounts, files the review card and reads back the member's days: six statements
inside BEGIN and COMMIT, eight round trips. The function does all of it in one call, which is its own
transaction. It files a review card only when the member has none for the question yet (the daily quiz,
nearly always); when one exists it changes nothing and returns one row of NULLs (or, when another command
filed the card while it ran, raises SQLSTATE SBCRD), and the store records the activity the long way, where
the stored card is read and changed under a row lock. SQLite runs in the
process and needs no function: nothing changes there.

Whoever changes the tables this function writes or reads must replace it in a later migration;
tests/storage/test_record_at_once.py compares it with the long way on every case it handles.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION studybot_record_activity(
    p_member integer, p_cohort integer, p_day date, p_kind varchar, p_points integer, p_post integer,
    p_choice varchar, p_correct boolean, p_note varchar, p_at timestamptz,
    p_periods varchar[], p_starts date[], p_learner integer,
    p_card_owner integer, p_card_challenge varchar, p_card_reviews integer, p_card_due date,
    p_card_stability double precision, p_card_difficulty double precision, p_card_last date
) RETURNS TABLE (day date, active boolean)
LANGUAGE plpgsql AS $fn$
BEGIN
    -- A card filed already: nothing changes, and one row of NULLs says so (no error, which the server
    -- would log every time).
    IF p_card_challenge IS NOT NULL AND EXISTS (
        SELECT 1 FROM review_card c WHERE c.member_id = p_card_owner AND c.challenge_id = p_card_challenge
    ) THEN
        RETURN QUERY SELECT NULL::date, NULL::boolean;
        RETURN;
    END IF;

    INSERT INTO activity (member_id, cohort_id, local_date, kind, points, post_id, choice, correct, note,
                          created_at)
    VALUES (p_member, p_cohort, p_day, p_kind, p_points, p_post, p_choice, p_correct, p_note, p_at);

    -- The three buckets, only while the member is enrolled (no enrolment row: nothing is added).
    INSERT INTO points AS t (cohort_id, member_id, period, period_start, points)
    SELECT e.cohort_id, e.member_id, b.period, b.start, p_points
    FROM enrolment e CROSS JOIN unnest(p_periods, p_starts) AS b(period, start)
    WHERE e.cohort_id = p_cohort AND e.member_id = p_member
    ON CONFLICT (cohort_id, period, period_start, member_id)
        DO UPDATE SET points = t.points + EXCLUDED.points;

    IF p_learner IS NOT NULL THEN
        INSERT INTO shared_day AS s (member_id, source_id, local_date, merged)
        SELECT m.id, p_member, p_day, false FROM member m WHERE m.learner_id = p_learner AND m.id <> p_member
        ON CONFLICT (member_id, source_id, local_date) DO UPDATE SET merged = false;
    END IF;

    IF p_card_challenge IS NOT NULL THEN
        INSERT INTO review_card (member_id, challenge_id, box, due_date, stability, difficulty, last_review,
                                 updated_at)
        VALUES (p_card_owner, p_card_challenge, p_card_reviews, p_card_due, p_card_stability,
                p_card_difficulty, p_card_last, p_at)
        ON CONFLICT (member_id, challenge_id) DO NOTHING;
        IF NOT FOUND THEN  -- filed by another command since the check above: undo everything
            RAISE EXCEPTION 'the member has a review card for this question already' USING ERRCODE = 'SBCRD';
        END IF;
    END IF;

    RETURN QUERY
        SELECT DISTINCT a.local_date, true FROM activity a
        WHERE a.cohort_id = p_cohort AND a.member_id = p_member
        UNION ALL
        SELECT d.local_date, true FROM shared_day d WHERE d.member_id = p_member
        UNION ALL
        SELECT x.local_date, false FROM excusal x WHERE x.cohort_id = p_cohort AND x.member_id = p_member;
END
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS studybot_record_activity")
