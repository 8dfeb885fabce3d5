-- When a poll ends, its author and every local account that voted get a
-- "poll" notification, as Mastodon sends them.  The workers' job timer
-- runs fedi_polls_ended(); SKIP LOCKED keeps two workers (or nodes) from
-- notifying one poll twice.

ALTER TABLE polls ADD COLUMN ended_notified boolean NOT NULL DEFAULT false;

CREATE INDEX polls_to_notify ON polls (expires_at)
    WHERE NOT ended_notified AND expires_at IS NOT NULL;

CREATE FUNCTION fedi_polls_ended(p_limit integer)
RETURNS integer
LANGUAGE sql AS $$
    WITH p AS (
        UPDATE polls SET ended_notified = true
         WHERE id IN (SELECT id FROM polls
                       WHERE NOT ended_notified AND expires_at <= now()
                       ORDER BY expires_at LIMIT p_limit
                       FOR UPDATE SKIP LOCKED)
        RETURNING id, status_id, account_id),
    n AS (
        INSERT INTO notifications (account_id, from_account_id, type,
                                   status_id)
        SELECT DISTINCT who.account_id, p.account_id, 'poll', p.status_id
          FROM p
          JOIN statuses s ON s.id = p.status_id AND s.deleted_at IS NULL
          CROSS JOIN LATERAL (
              SELECT p.account_id
              UNION SELECT v.account_id FROM poll_votes v
                     WHERE v.poll_id = p.id) who
          JOIN accounts a ON a.id = who.account_id AND a.domain IS NULL
        RETURNING 1)
    SELECT (SELECT count(*) FROM p)::integer
$$;
