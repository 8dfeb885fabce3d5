-- Lists, as Mastodon's: a user's named sets of the accounts they follow
-- (and themselves), each with a feed of its own.
--
-- The list feed is filled from the home feed's fan-out rather than by a
-- second fan-out: every path that puts a status in a home feed (a local
-- post, an inbox Create, a boost, a mention) inserts feed rows, and a
-- statement trigger on feeds takes from those rows the ones whose author
-- is on one of the owner's lists.  So the list feed obeys every rule of
-- the home feed (blocks, mutes, languages, replies to accounts the owner
-- follows), as Mastodon's FeedManager applies filter_from_home to lists
-- too, and then the list's own replies_policy.  The cost is proportional
-- to the list memberships of the statuses' authors, not to the feed rows.
--
-- Exclusive lists (Mastodon 4.2) keep their members' posts out of the
-- home feed: the same trigger deletes those rows from feeds after the
-- list took them, and the home stream's trigger (which fires after it,
-- triggers of one event firing in name order) skips them.

CREATE TABLE lists (
    id              bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id      bigint NOT NULL REFERENCES accounts (id)
                    ON DELETE CASCADE,
    title           text NOT NULL,
    replies_policy  text NOT NULL DEFAULT 'list'
                    CHECK (replies_policy IN ('followed', 'list', 'none')),
    exclusive       boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX lists_account ON lists (account_id, id);

-- members: accounts the owner follows or asked to follow, or the owner
-- (Mastodon's rule, 4.3); an unfollow, or a request that ends without a
-- follow, takes the account off the owner's lists (below).  A requested
-- account's posts reach the list once the request is accepted: they
-- come from the home feed.
CREATE TABLE list_accounts (
    list_id     bigint NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (list_id, account_id)
);

CREATE INDEX list_accounts_account ON list_accounts (account_id, list_id);

-- a list's timeline, filled on write like feeds: a cache without
-- foreign keys (their checks were a third of a fan-out's list rows, as
-- sql/0010 found for feeds), emptied by triggers when a list or a status
-- goes
CREATE TABLE list_feeds (
    list_id    bigint NOT NULL,
    status_id  bigint NOT NULL,
    PRIMARY KEY (list_id, status_id)
);

CREATE INDEX list_feeds_status ON list_feeds (status_id);

CREATE FUNCTION fedi_list_feeds_list_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM list_feeds WHERE list_id = OLD.id;
    RETURN OLD;
END
$$;

CREATE FUNCTION fedi_list_feeds_status_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM list_feeds WHERE status_id = OLD.id;
    RETURN OLD;
END
$$;

CREATE TRIGGER list_feeds_list_gone AFTER DELETE ON lists
    FOR EACH ROW EXECUTE FUNCTION fedi_list_feeds_list_gone();
CREATE TRIGGER list_feeds_status_gone AFTER DELETE ON statuses
    FOR EACH ROW EXECUTE FUNCTION fedi_list_feeds_status_gone();


-- Whether list l takes status s, by its replies_policy (Mastodon's
-- filter_from_list): a post, a boost, a self-reply and a reply to the
-- owner always; another reply when the owner follows the replied-to
-- account ('followed'), when it is on the list ('list'), never ('none').
CREATE FUNCTION fedi_list_takes(p_list bigint, p_owner bigint,
                                p_policy text, p_author bigint,
                                p_reply_to bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT p_reply_to IS NULL OR p_reply_to = p_author OR p_reply_to = p_owner
        OR (p_policy = 'followed' AND EXISTS (
                SELECT 1 FROM follows f WHERE f.account_id = p_owner
                   AND f.target_account_id = p_reply_to))
        OR (p_policy = 'list' AND EXISTS (
                SELECT 1 FROM list_accounts la WHERE la.list_id = p_list
                   AND la.account_id = p_reply_to))
$$;


-- New home feed rows: the list feeds' share of them, and the rows
-- exclusive lists keep out of the home feed.  Both start from the list
-- memberships of the statuses' authors, a few rows, and meet the feed
-- rows in one hash join.
CREATE FUNCTION fedi_lists_feeds_new() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_listed    integer;
    v_excluded  integer;
BEGIN
    -- an instance without lists pays one look
    IF NOT EXISTS (SELECT 1 FROM list_accounts) THEN
        RETURN NULL;
    END IF;

    WITH st AS MATERIALIZED (
        SELECT s.id, s.account_id, s.in_reply_to_account_id FROM statuses s
         WHERE s.id IN (SELECT DISTINCT status_id FROM new_feeds)
           AND s.deleted_at IS NULL AND s.visibility <> 'direct'),
    m AS MATERIALIZED (
        SELECT l.id AS list_id, l.account_id AS owner, st.id AS status_id
          FROM st
          JOIN list_accounts la ON la.account_id = st.account_id
          JOIN lists l ON l.id = la.list_id
         WHERE fedi_list_takes(l.id, l.account_id, l.replies_policy,
                               st.account_id, st.in_reply_to_account_id)),
    ins AS (
        INSERT INTO list_feeds (list_id, status_id)
        SELECT m.list_id, m.status_id
          FROM m JOIN new_feeds n ON n.account_id = m.owner
                                 AND n.status_id = m.status_id
        ON CONFLICT DO NOTHING
        RETURNING 1)
    SELECT count(*) INTO v_listed FROM ins;

    -- what exclusive lists hold stays out of the home feed; one's own
    -- posts never do (Mastodon's filter_from_home)
    WITH x AS MATERIALIZED (
        SELECT DISTINCT l.account_id AS owner, s.id AS status_id
          FROM statuses s
          JOIN list_accounts la ON la.account_id = s.account_id
          JOIN lists l ON l.id = la.list_id AND l.exclusive
                      AND l.account_id <> s.account_id
         WHERE s.id IN (SELECT DISTINCT status_id FROM new_feeds))
    DELETE FROM feeds f USING x
     WHERE f.account_id = x.owner AND f.status_id = x.status_id;

    GET DIAGNOSTICS v_excluded = ROW_COUNT;

    IF v_excluded > 0 THEN
        PERFORM set_config('fedi.feeds_excluded', 'on', true);
    END IF;

    RETURN NULL;
END
$$;

CREATE TRIGGER feeds_lists_new AFTER INSERT ON feeds
    REFERENCING NEW TABLE AS new_feeds
    FOR EACH STATEMENT EXECUTE FUNCTION fedi_lists_feeds_new();


-- New list feed rows: an update on the list streams, one stream_events
-- row per status naming its lists (as sql/0029 does for home feeds); not
-- the older posts of an account whose follow was just accepted, which
-- join unannounced, as in the home feed
CREATE FUNCTION fedi_lists_stream_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF fedi_stream_quiet() THEN
        RETURN NULL;
    END IF;

    INSERT INTO stream_events (stream, event, object_id, accounts)
    SELECT 'list:*', 'update', n.status_id,
           array_agg(n.list_id ORDER BY n.list_id)
      FROM new_list_feeds n
      JOIN lists l ON l.id = n.list_id
      JOIN statuses s ON s.id = n.status_id
     WHERE NOT (s.id < fedi_id_floor(now())
                AND EXISTS (SELECT 1 FROM follows f
                             WHERE f.account_id = l.account_id
                               AND f.target_account_id = s.account_id
                               AND f.created_at = now()))
     GROUP BY n.status_id
     ORDER BY n.status_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER list_feeds_stream_new AFTER INSERT ON list_feeds
    REFERENCING NEW TABLE AS new_list_feeds
    FOR EACH STATEMENT EXECUTE FUNCTION fedi_lists_stream_new();


-- A member's boost goes to the list even when the boosted status is in
-- the owner's home feed already, which keeps the boost out of it (the
-- list has not seen the status, as in Mastodon); the rules are the home
-- feed's for boosts: the member's boosts shown, no block or mute of
-- either account, the boosted status visible to the owner.
CREATE FUNCTION fedi_lists_reblogs_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO list_feeds (list_id, status_id)
    SELECT l.id, n.id
      FROM new_statuses n
      JOIN statuses o ON o.id = n.reblog_of_id
      JOIN list_accounts la ON la.account_id = n.account_id
      JOIN lists l ON l.id = la.list_id
     WHERE n.reblog_of_id IS NOT NULL AND n.deleted_at IS NULL
       AND o.deleted_at IS NULL AND o.account_id <> l.account_id
       AND (l.account_id = n.account_id
            OR EXISTS (SELECT 1 FROM follows f
                        WHERE f.account_id = l.account_id
                          AND f.target_account_id = n.account_id
                          AND f.show_reblogs))
       AND NOT EXISTS (SELECT 1 FROM list_feeds x
                        WHERE x.list_id = l.id AND x.status_id = o.id)
       AND NOT EXISTS (SELECT 1 FROM blocks b
                        WHERE (b.account_id = l.account_id
                               AND b.target_account_id IN (n.account_id,
                                                           o.account_id))
                           OR (b.account_id = o.account_id
                               AND b.target_account_id = l.account_id))
       AND NOT EXISTS (SELECT 1 FROM mutes m
                        WHERE m.account_id = l.account_id
                          AND m.target_account_id IN (n.account_id,
                                                      o.account_id)
                          AND (m.expires_at IS NULL OR m.expires_at > now()))
       AND fedi_status_visible(o.id, o.account_id, o.visibility, l.account_id)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER statuses_lists_reblogs AFTER INSERT ON statuses
    REFERENCING NEW TABLE AS new_statuses
    FOR EACH STATEMENT EXECUTE FUNCTION fedi_lists_reblogs_new();


-- The home stream's trigger (sql/0029), which fires after the one above:
-- the rows an exclusive list took out of feeds are not announced there.
-- The check costs a lookup per row, so it runs only when that happened.
CREATE OR REPLACE FUNCTION fedi_stream_feeds_new() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_excluded  boolean;
BEGIN
    -- the flag is this statement's: taken down first, quiet or not
    v_excluded := coalesce(current_setting('fedi.feeds_excluded', true), '')
                  = 'on';

    IF v_excluded THEN
        PERFORM set_config('fedi.feeds_excluded', '', true);
    END IF;

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
       AND (NOT v_excluded
            OR EXISTS (SELECT 1 FROM feeds x
                        WHERE x.account_id = n.account_id
                          AND x.status_id = n.status_id))
     GROUP BY n.status_id
     ORDER BY n.status_id;
    RETURN NULL;
END
$$;


-- An edit or a delete: status.update or delete on the streams of the
-- lists that hold the status (the status stays in list_feeds; timelines
-- skip deleted statuses, and the row goes with the status)
CREATE FUNCTION fedi_lists_status_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_event  text;
BEGIN
    IF fedi_stream_quiet() THEN
        RETURN NULL;
    END IF;

    IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
        v_event := 'delete';
    ELSIF NEW.deleted_at IS NULL
          AND NEW.edited_at IS DISTINCT FROM OLD.edited_at THEN
        v_event := 'status.update';
    ELSE
        RETURN NULL;
    END IF;

    INSERT INTO stream_events (stream, event, object_id, accounts)
    SELECT 'list:*', v_event, NEW.id, array_agg(lf.list_id ORDER BY lf.list_id)
      FROM list_feeds lf WHERE lf.status_id = NEW.id
    HAVING count(*) > 0;

    RETURN NULL;
END
$$;

CREATE TRIGGER statuses_lists_changed AFTER UPDATE OF deleted_at, edited_at
    ON statuses
    FOR EACH ROW EXECUTE FUNCTION fedi_lists_status_changed();


-- An unfollow (or a block, which ends follows) takes the account off the
-- follower's lists, as Mastodon's list_accounts.follow_id cascade does
CREATE FUNCTION fedi_lists_follow_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM list_accounts la
     USING old_follows o, lists l
     WHERE l.account_id = o.account_id AND la.list_id = l.id
       AND la.account_id = o.target_account_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER follows_lists_gone AFTER DELETE ON follows
    REFERENCING OLD TABLE AS old_follows
    FOR EACH STATEMENT EXECUTE FUNCTION fedi_lists_follow_gone();

-- A follow request gone: rejected or withdrawn, the account leaves the
-- lists; accepted, it stays.  Asked at the commit, since an acceptance
-- deletes the request before it inserts the follow.
CREATE FUNCTION fedi_lists_request_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM follows f
                    WHERE f.account_id = OLD.account_id
                      AND f.target_account_id = OLD.target_account_id)
       AND NOT EXISTS (SELECT 1 FROM follow_requests r
                        WHERE r.account_id = OLD.account_id
                          AND r.target_account_id = OLD.target_account_id)
    THEN
        DELETE FROM list_accounts la USING lists l
         WHERE l.account_id = OLD.account_id AND la.list_id = l.id
           AND la.account_id = OLD.target_account_id;
    END IF;

    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER follow_requests_lists_gone
    AFTER DELETE ON follow_requests
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fedi_lists_request_gone();


-- An account leaving a list takes its statuses out of the list's feed
-- (Mastodon's unmerge_from_list)
CREATE FUNCTION fedi_lists_member_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM list_feeds lf
     USING old_members o, statuses s
     WHERE lf.list_id = o.list_id AND s.id = lf.status_id
       AND s.account_id = o.account_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER list_accounts_gone AFTER DELETE ON list_accounts
    REFERENCING OLD TABLE AS old_members
    FOR EACH STATEMENT EXECUTE FUNCTION fedi_lists_member_gone();


-- Adding accounts to a list, all or none: 'ok', 'no_list' (not the
-- owner's), 'not_found' (no such account), 'not_followed' (neither
-- followed, nor asked to follow, nor the owner), 'taken' (already on the
-- list).  Their recent statuses join the list's feed (Mastodon's
-- merge_into_list), unannounced.
CREATE FUNCTION fedi_list_add(p_owner bigint, p_list bigint,
                              p_accounts bigint[])
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_list   lists;
    v_quiet  text;
BEGIN
    SELECT * INTO v_list FROM lists
     WHERE id = p_list AND account_id = p_owner FOR UPDATE;

    IF v_list.id IS NULL THEN
        RETURN 'no_list';
    END IF;

    IF EXISTS (SELECT 1 FROM unnest(p_accounts) a
                WHERE NOT EXISTS (SELECT 1 FROM accounts x
                                   WHERE x.id = a
                                     AND x.suspended_at IS NULL)) THEN
        RETURN 'not_found';
    END IF;

    IF EXISTS (SELECT 1 FROM unnest(p_accounts) a
                WHERE a <> p_owner
                  AND NOT EXISTS (SELECT 1 FROM follows f
                                   WHERE f.account_id = p_owner
                                     AND f.target_account_id = a)
                  AND NOT EXISTS (SELECT 1 FROM follow_requests r
                                   WHERE r.account_id = p_owner
                                     AND r.target_account_id = a)) THEN
        RETURN 'not_followed';
    END IF;

    IF EXISTS (SELECT 1 FROM list_accounts
                WHERE list_id = p_list AND account_id = ANY (p_accounts))
       OR cardinality(p_accounts)
          <> (SELECT count(DISTINCT a) FROM unnest(p_accounts) a) THEN
        RETURN 'taken';
    END IF;

    INSERT INTO list_accounts (list_id, account_id)
    SELECT p_list, a FROM unnest(p_accounts) a;

    -- unannounced: the stream has them from no one's fan-out
    v_quiet := coalesce(current_setting('fedi.stream_quiet', true), '');
    PERFORM set_config('fedi.stream_quiet', 'on', true);

    INSERT INTO list_feeds (list_id, status_id)
    SELECT p_list, s.id
      FROM unnest(p_accounts) a
      CROSS JOIN LATERAL (
            SELECT s.* FROM statuses s
             WHERE s.account_id = a AND s.deleted_at IS NULL
               AND s.visibility IN ('public', 'unlisted', 'private')
             ORDER BY s.id DESC LIMIT 100) s
     WHERE fedi_list_takes(p_list, p_owner, v_list.replies_policy,
                           s.account_id, s.in_reply_to_account_id)
       AND (s.in_reply_to_id IS NULL OR s.in_reply_to_account_id IS NOT NULL)
       AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = p_owner
                          AND b.target_account_id = s.account_id)
       AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.account_id = p_owner
                          AND m.target_account_id = s.account_id
                          AND (m.expires_at IS NULL OR m.expires_at > now()))
    ON CONFLICT DO NOTHING;

    PERFORM set_config('fedi.stream_quiet', v_quiet, true);

    UPDATE lists SET updated_at = now() WHERE id = p_list;

    RETURN 'ok';
END
$$;
