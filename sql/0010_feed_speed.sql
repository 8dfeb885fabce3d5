-- Speed of the home feed, measured with `make bench` (10,000 accounts,
-- 1,000,000 statuses).
--
-- Feed rows are a cache of who sees what: they lose their foreign keys
-- (two lookups and two trigger calls per row, half the cost of a fan-out)
-- and are removed by triggers instead when an account or a status goes.
-- An index by status makes taking one status out of every feed (a delete,
-- an unboost) an index scan instead of a scan of the whole table.

ALTER TABLE feeds DROP CONSTRAINT feeds_account_id_fkey,
                  DROP CONSTRAINT feeds_status_id_fkey;

CREATE INDEX feeds_status ON feeds (status_id);

CREATE FUNCTION fedi_feeds_account_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM feeds WHERE account_id = OLD.id;
    RETURN OLD;
END
$$;

CREATE FUNCTION fedi_feeds_status_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM feeds WHERE status_id = OLD.id;
    RETURN OLD;
END
$$;

CREATE TRIGGER feeds_account_gone AFTER DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION fedi_feeds_account_gone();
CREATE TRIGGER feeds_status_gone AFTER DELETE ON statuses
    FOR EACH ROW EXECUTE FUNCTION fedi_feeds_status_gone();

-- a status's tags, and whether the viewer boosted a status, by status
CREATE INDEX statuses_tags_status ON statuses_tags (status_id);
CREATE INDEX statuses_reblogs ON statuses (reblog_of_id, account_id)
    WHERE reblog_of_id IS NOT NULL AND deleted_at IS NULL;

-- The fan-out of several statuses in one statement: the followers'
-- feeds (for a reply only those who follow the replied-to account too,
-- as Mastodon; in the languages the follower chose, statuses without a
-- language reaching everyone), never across a block or a mute.
CREATE FUNCTION fedi_fanout_many(p_statuses bigint[])
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO feeds (account_id, status_id)
    SELECT f.account_id, s.id
      FROM statuses s
      JOIN follows f ON f.target_account_id = s.account_id
      JOIN accounts a ON a.id = f.account_id AND a.domain IS NULL
     WHERE s.id = ANY (p_statuses) AND s.deleted_at IS NULL
       AND (f.languages IS NULL OR cardinality(f.languages) = 0
            OR s.language IS NULL OR s.language = ANY (f.languages))
       AND (s.in_reply_to_account_id IS NULL
            OR s.in_reply_to_account_id = s.account_id
            OR EXISTS (SELECT 1 FROM follows g
                        WHERE g.account_id = f.account_id
                          AND g.target_account_id = s.in_reply_to_account_id))
       AND NOT EXISTS (SELECT 1 FROM blocks b
                        WHERE b.account_id = f.account_id
                          AND b.target_account_id = s.account_id)
       AND NOT EXISTS (SELECT 1 FROM mutes m
                        WHERE m.account_id = f.account_id
                          AND m.target_account_id = s.account_id
                          AND (m.expires_at IS NULL
                               OR m.expires_at > now()))
    ON CONFLICT DO NOTHING
$$;

CREATE OR REPLACE FUNCTION fedi_fanout(p_status bigint)
RETURNS void
LANGUAGE sql AS $$
    SELECT fedi_fanout_many(ARRAY[p_status])
$$;

-- The background fan-out: claims up to p_limit jobs and fills their feeds
-- in one statement; the number done, or -1 when another runner is at work
-- (one at a time per database, so a burst of posts by popular accounts
-- takes one core, not every core the requests need).
CREATE OR REPLACE FUNCTION fedi_fanout_run(p_limit integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('fedi_fanout_run')) THEN
        RETURN -1;
    END IF;

    WITH j AS (
        DELETE FROM fanout_jobs
         WHERE status_id IN (SELECT status_id FROM fanout_jobs
                              ORDER BY created_at LIMIT p_limit
                              FOR UPDATE SKIP LOCKED)
        RETURNING status_id)
    SELECT array_agg(status_id) INTO v_ids FROM j;

    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;

    PERFORM fedi_fanout_many(v_ids);

    RETURN cardinality(v_ids);
END
$$;
