-- The user-stream trigger of new home-feed rows (sql/0041) looks for
-- the follows this transaction made only in a transaction that made
-- some.  A follow's older posts join the follower's feed unannounced
-- (sql/0029), so the trigger checked every (follower, author) pair of
-- the new rows against follows created now(): for a background fan-out
-- of 20 posts to 1,000 followers, 20,000 index probes, 30 ms of each
-- batch, in transactions that never follow anyone.  A statement trigger
-- on follows now raises a flag for the rest of the transaction, and
-- without it the pairs are not looked at.  Same events as before.

CREATE FUNCTION fedi_follows_made() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('fedi.follows_made', 'on', true);
    RETURN NULL;
END
$$;

CREATE TRIGGER follows_made AFTER INSERT ON follows
    FOR EACH STATEMENT EXECUTE FUNCTION fedi_follows_made();

CREATE OR REPLACE FUNCTION fedi_stream_feeds_new() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_excluded  boolean;
    v_floor     bigint := fedi_id_floor(now());     -- once, not per row
    v_follows   boolean := coalesce(current_setting('fedi.follows_made',
                                                    true), '') = 'on';
BEGIN
    -- the flag is this statement's: taken down first, quiet or not
    v_excluded := coalesce(current_setting('fedi.feeds_excluded', true), '')
                  = 'on';

    IF v_excluded THEN
        PERFORM set_config('fedi.feeds_excluded', '', true);
    END IF;

    IF fedi_stream_quiet() OR NOT EXISTS (SELECT 1 FROM new_feeds) THEN
        RETURN NULL;
    END IF;

    WITH st AS MATERIALIZED (
        SELECT s.id, s.account_id FROM statuses s
         WHERE s.id IN (SELECT DISTINCT status_id FROM new_feeds)
           AND s.deleted_at IS NULL),
    fr AS MATERIALIZED (
        SELECT n.account_id, n.status_id, st.account_id AS author
          FROM new_feeds n JOIN st ON st.id = n.status_id),
    fresh AS MATERIALIZED (
        SELECT p.account_id, p.author
          FROM (SELECT DISTINCT account_id, author FROM fr
                 WHERE v_follows) p
          CROSS JOIN LATERAL (SELECT 1 FROM follows f
                               WHERE f.account_id = p.account_id
                                 AND f.target_account_id = p.author
                                 AND f.created_at = now() LIMIT 1) x)
    INSERT INTO stream_events (stream, event, object_id, accounts)
    SELECT 'user:*', 'update', fr.status_id,
           array_agg(fr.account_id ORDER BY fr.account_id)
      FROM fr
     WHERE NOT (v_follows AND fr.status_id < v_floor
                AND EXISTS (SELECT 1 FROM fresh x
                             WHERE x.account_id = fr.account_id
                               AND x.author = fr.author))
       AND (NOT v_excluded
            OR EXISTS (SELECT 1 FROM feeds x
                        WHERE x.account_id = fr.account_id
                          AND x.status_id = fr.status_id))
     GROUP BY fr.status_id
     ORDER BY fr.status_id;
    RETURN NULL;
END
$$;
