-- Home-feed updates for the streaming API: one stream_events row per
-- status a statement adds to home feeds, naming its accounts, instead of
-- one row per feed row (a post by an account with 10,000 followers wrote
-- 10,000 rows; the inbox's Creates paid 2.7 s of SQL in 6.5 for 3,000).
-- The workers read it back one event per account (sql_stream.h
-- STREAM_EVENTS), as before.

ALTER TABLE stream_events ADD COLUMN accounts bigint[];

CREATE OR REPLACE FUNCTION fedi_stream_feeds_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF fedi_stream_quiet() THEN
        RETURN NULL;
    END IF;

    INSERT INTO stream_events (stream, event, object_id, accounts)
    SELECT 'user:*', 'update', n.status_id,
           array_agg(n.account_id ORDER BY n.account_id)
      FROM new_feeds n JOIN statuses s ON s.id = n.status_id
     WHERE s.deleted_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM follows f
                        WHERE f.account_id = n.account_id
                          AND f.target_account_id = s.account_id
                          AND f.created_at = now()
                          AND fedi_id_at(now()) > s.id)
     GROUP BY n.status_id
     ORDER BY n.status_id;
    RETURN NULL;
END
$$;
