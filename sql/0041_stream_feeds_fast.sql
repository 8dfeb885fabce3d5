-- The user-stream events of new home-feed rows (sql/0029, restated in
-- sql/0030 and sql/0037), without a hash of every status or follow.  For
-- a background fan-out (20 posts to 1,000 followers: 20,000 rows) the
-- planner joined the rows to statuses by hashing all of statuses (a
-- million rows, 0.3 s), and checked each row against the follows made
-- in this transaction: most of the fan-out's cost, taken from the
-- requests on the same cores.
--
-- Now the statuses of the rows (a few distinct ones) are looked up by id
-- first, and the follows made by this transaction (whose older posts
-- join the feed unannounced, sql/0029) are looked up once per distinct
-- follower and author, by index.  Same events as before.

CREATE OR REPLACE FUNCTION fedi_stream_feeds_new() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_excluded  boolean;
    v_floor     bigint := fedi_id_floor(now());     -- once, not per row
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
          FROM (SELECT DISTINCT account_id, author FROM fr) p
          CROSS JOIN LATERAL (SELECT 1 FROM follows f
                               WHERE f.account_id = p.account_id
                                 AND f.target_account_id = p.author
                                 AND f.created_at = now() LIMIT 1) x)
    INSERT INTO stream_events (stream, event, object_id, accounts)
    SELECT 'user:*', 'update', fr.status_id,
           array_agg(fr.account_id ORDER BY fr.account_id)
      FROM fr
     WHERE NOT (fr.status_id < v_floor
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
