-- Statuses, their mentions and tags, favourites, bookmarks, home feeds and
-- notifications.  A remote status is just another row (its account has a
-- domain), so one serializer serves both.

CREATE TABLE statuses (
    id                      bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id              bigint NOT NULL REFERENCES accounts (id)
                            ON DELETE CASCADE,
    uri                     text,                 -- NULL for local
    url                     text,
    text                    text NOT NULL DEFAULT '',   -- as typed
    content                 text NOT NULL DEFAULT '',   -- HTML
    spoiler_text            text NOT NULL DEFAULT '',
    sensitive               boolean NOT NULL DEFAULT false,
    visibility              text NOT NULL DEFAULT 'public'
                            CHECK (visibility IN ('public', 'unlisted',
                                                  'private', 'direct')),
    language                text,
    in_reply_to_id          bigint REFERENCES statuses (id) ON DELETE SET NULL,
    in_reply_to_account_id  bigint REFERENCES accounts (id) ON DELETE SET NULL,
    reblog_of_id            bigint REFERENCES statuses (id) ON DELETE CASCADE,
    conversation_id         bigint,         -- the thread's first status
    application_id          bigint REFERENCES oauth_applications (id)
                            ON DELETE SET NULL,
    replies_count           integer NOT NULL DEFAULT 0,
    reblogs_count           integer NOT NULL DEFAULT 0,
    favourites_count        integer NOT NULL DEFAULT 0,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    edited_at               timestamptz,
    deleted_at              timestamptz
);

CREATE INDEX statuses_account ON statuses (account_id, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX statuses_public ON statuses (id DESC)
    WHERE deleted_at IS NULL AND visibility = 'public'
    AND reblog_of_id IS NULL;
CREATE INDEX statuses_reply ON statuses (in_reply_to_id)
    WHERE in_reply_to_id IS NOT NULL;
CREATE INDEX statuses_direct ON statuses (conversation_id, id)
    WHERE visibility = 'direct' AND deleted_at IS NULL;
CREATE UNIQUE INDEX statuses_uri ON statuses (uri) WHERE uri IS NOT NULL;

CREATE TABLE mentions (
    status_id   bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (status_id, account_id)
);

CREATE INDEX mentions_account ON mentions (account_id, status_id DESC);

CREATE TABLE tags (
    id    bigint PRIMARY KEY DEFAULT fedi_id(),
    name  text NOT NULL
);

CREATE UNIQUE INDEX tags_name ON tags (lower(name));

CREATE TABLE statuses_tags (
    status_id  bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    tag_id     bigint NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (tag_id, status_id)
);

CREATE TABLE favourites (
    id          bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id   bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, status_id)
);

CREATE TABLE bookmarks (
    id          bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id   bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    UNIQUE (account_id, status_id)
);

-- home timelines, filled on write: reading one is an index range scan
CREATE TABLE feeds (
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id   bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, status_id)
);

CREATE TABLE notifications (
    id               bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id       bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    from_account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    type             text NOT NULL,
    status_id        bigint REFERENCES statuses (id) ON DELETE CASCADE,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX notifications_account ON notifications (account_id, id DESC);

-- Posting: the status, its mentions and tags, the author's counters, the
-- home feeds of the author and of the followers and mentioned accounts
-- allowed to see it, and mention notifications: one transaction.
-- p_mentions: ids of the local accounts mentioned; p_tags: names.
-- Polls: the options in order, votes by index.
CREATE TABLE polls (
    id            bigint PRIMARY KEY DEFAULT fedi_id(),
    status_id     bigint NOT NULL UNIQUE REFERENCES statuses (id)
                  ON DELETE CASCADE,
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    options       text[] NOT NULL,
    multiple      boolean NOT NULL DEFAULT false,
    hide_totals   boolean NOT NULL DEFAULT false,
    expires_at    timestamptz,
    votes_count   integer NOT NULL DEFAULT 0,
    voters_count  integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE poll_votes (
    id          bigint PRIMARY KEY DEFAULT fedi_id(),
    poll_id     bigint NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    choice      integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (poll_id, account_id, choice)
);

-- Home feeds of the followers of a new status's author: the author's
-- followers, but for a reply only those who follow the replied-to account
-- too (as Mastodon), never across a block or a mute.
CREATE TABLE fanout_jobs (
    status_id   bigint PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION fedi_fanout(p_status bigint)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_account  bigint;
    v_reply_to bigint;
BEGIN
    SELECT account_id, in_reply_to_account_id INTO v_account, v_reply_to
      FROM statuses WHERE id = p_status AND deleted_at IS NULL;

    IF v_account IS NULL THEN
        RETURN;
    END IF;

    INSERT INTO feeds (account_id, status_id)
    SELECT f.account_id, p_status FROM follows f
      JOIN accounts a ON a.id = f.account_id AND a.domain IS NULL
     WHERE f.target_account_id = v_account
       AND (v_reply_to IS NULL OR v_reply_to = v_account
            OR EXISTS (SELECT 1 FROM follows g
                        WHERE g.account_id = f.account_id
                          AND g.target_account_id = v_reply_to))
       AND NOT EXISTS (SELECT 1 FROM blocks b
                        WHERE b.account_id = f.account_id
                          AND b.target_account_id = v_account)
       AND NOT EXISTS (SELECT 1 FROM mutes m
                        WHERE m.account_id = f.account_id
                          AND m.target_account_id = v_account
                          AND (m.expires_at IS NULL
                               OR m.expires_at > now()))
    ON CONFLICT DO NOTHING;
END
$$;

-- The background fan-out: claims up to p_limit jobs (several nodes and
-- workers share them without doing one twice); the number done.
CREATE FUNCTION fedi_fanout_run(p_limit integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_status bigint;
    v_done   integer := 0;
BEGIN
    FOR v_status IN
        DELETE FROM fanout_jobs
         WHERE status_id IN (SELECT status_id FROM fanout_jobs
                              ORDER BY created_at LIMIT p_limit
                              FOR UPDATE SKIP LOCKED)
        RETURNING status_id
    LOOP
        PERFORM fedi_fanout(v_status);
        v_done := v_done + 1;
    END LOOP;

    RETURN v_done;
END
$$;

-- Idempotency-Key: the same key from the same account within an hour
-- gives back the status the first request made.
CREATE TABLE idempotency_keys (
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key         text NOT NULL,
    status_id   bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key)
);

CREATE FUNCTION fedi_post_status(
    p_account bigint, p_text text, p_content text, p_spoiler text,
    p_sensitive boolean, p_visibility text, p_language text,
    p_reply bigint, p_app bigint, p_mentions bigint[], p_tags text[],
    p_idempotency text, p_poll_options text[], p_poll_expires_in integer,
    p_poll_multiple boolean, p_poll_hide_totals boolean)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id       bigint;
    v_reply_to bigint;
BEGIN
    IF p_idempotency IS NOT NULL THEN
        -- two requests with one key wait for each other here
        PERFORM pg_advisory_xact_lock(hashtext(p_account || ':'
                                               || p_idempotency));

        SELECT status_id INTO v_id FROM idempotency_keys
         WHERE account_id = p_account AND key = p_idempotency
           AND created_at > now() - interval '1 hour';

        IF v_id IS NOT NULL THEN
            RETURN v_id;
        END IF;

        DELETE FROM idempotency_keys
         WHERE account_id = p_account AND key = p_idempotency;
    END IF;

    IF p_reply IS NOT NULL THEN
        SELECT account_id INTO v_reply_to FROM statuses
         WHERE id = p_reply AND deleted_at IS NULL;
    END IF;

    v_id := fedi_id();

    INSERT INTO statuses (id, account_id, text, content, spoiler_text,
                          sensitive, visibility, language, in_reply_to_id,
                          in_reply_to_account_id, application_id,
                          conversation_id)
    VALUES (v_id, p_account, p_text, p_content, p_spoiler, p_sensitive,
            p_visibility, p_language,
            CASE WHEN v_reply_to IS NOT NULL THEN p_reply END, v_reply_to,
            p_app,
            coalesce((SELECT conversation_id FROM statuses
                       WHERE id = p_reply AND v_reply_to IS NOT NULL), v_id));

    INSERT INTO mentions (status_id, account_id)
    SELECT v_id, m FROM unnest(p_mentions) AS m
    ON CONFLICT DO NOTHING;

    INSERT INTO tags (name)
    SELECT DISTINCT t FROM unnest(p_tags) AS t
    ON CONFLICT (lower(name)) DO NOTHING;

    INSERT INTO statuses_tags (status_id, tag_id)
    SELECT DISTINCT v_id, g.id FROM unnest(p_tags) AS t
      JOIN tags g ON lower(g.name) = lower(t)
    ON CONFLICT DO NOTHING;

    IF p_poll_options IS NOT NULL THEN
        INSERT INTO polls (status_id, account_id, options, multiple,
                           hide_totals, expires_at)
        VALUES (v_id, p_account, p_poll_options,
                coalesce(p_poll_multiple, false),
                coalesce(p_poll_hide_totals, false),
                now() + p_poll_expires_in * interval '1 second');
    END IF;

    -- the author's own feed, then followers' (not for direct messages;
    -- replies only to those who follow both, as Mastodon), then the
    -- mentioned, who see what mentions them
    INSERT INTO feeds (account_id, status_id) VALUES (p_account, v_id);

    -- followers' feeds: at once for most, in the background for accounts
    -- with many followers (fedi_fanout_run, woken by NOTIFY)
    IF p_visibility <> 'direct' THEN
        IF (SELECT followers_count FROM accounts WHERE id = p_account) > 200
        THEN
            INSERT INTO fanout_jobs (status_id) VALUES (v_id);
            PERFORM pg_notify('fedi_fanout', '');
        ELSE
            PERFORM fedi_fanout(v_id);
        END IF;
    END IF;

    INSERT INTO feeds (account_id, status_id)
    SELECT m, v_id FROM unnest(p_mentions) AS m
      JOIN accounts a ON a.id = m AND a.domain IS NULL
     WHERE NOT EXISTS (SELECT 1 FROM blocks b
                        WHERE b.account_id = m
                          AND b.target_account_id = p_account)
    ON CONFLICT DO NOTHING;

    INSERT INTO notifications (account_id, from_account_id, type, status_id)
    SELECT m, p_account, 'mention', v_id FROM unnest(p_mentions) AS m
     WHERE m <> p_account
       AND NOT EXISTS (SELECT 1 FROM blocks b
                        WHERE b.account_id = m
                          AND b.target_account_id = p_account);

    IF p_idempotency IS NOT NULL THEN
        INSERT INTO idempotency_keys (account_id, key, status_id)
        VALUES (p_account, p_idempotency, v_id);
    END IF;

    -- the counters last: their row locks are held until the commit, and
    -- every post of one account takes the same one
    UPDATE accounts SET statuses_count = statuses_count + 1,
                        last_status_at = now()
     WHERE id = p_account;

    IF v_reply_to IS NOT NULL THEN
        UPDATE statuses SET replies_count = replies_count + 1
         WHERE id = p_reply;
    END IF;

    RETURN v_id;
END
$$;

-- Whether viewer (NULL: anonymous) may see a status: public and unlisted
-- to all, private to followers, direct to the mentioned; the author
-- always; never across a block.  Inlined by the planner.
CREATE FUNCTION fedi_status_visible(p_status bigint, p_account bigint,
                                    p_visibility text, p_viewer bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT (p_viewer IS NOT NULL AND p_viewer = p_account)
        OR ((p_visibility IN ('public', 'unlisted')
             OR (p_visibility = 'private' AND EXISTS (
                    SELECT 1 FROM follows f WHERE f.account_id = p_viewer
                       AND f.target_account_id = p_account))
             OR EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = p_status
                           AND m.account_id = p_viewer))
            AND (p_viewer IS NULL OR NOT EXISTS (
                    SELECT 1 FROM blocks b
                     WHERE (b.account_id = p_viewer
                            AND b.target_account_id = p_account)
                        OR (b.account_id = p_account
                            AND b.target_account_id = p_viewer))))
$$;

-- Following a local account: at once, or a request when it is locked.
-- Returns 'following' or 'requested'; idempotent.
CREATE FUNCTION fedi_follow(p_account bigint, p_target bigint,
                            p_reblogs boolean, p_notify boolean)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_locked boolean;
BEGIN
    IF EXISTS (SELECT 1 FROM follows WHERE account_id = p_account
               AND target_account_id = p_target) THEN
        UPDATE follows SET show_reblogs = coalesce(p_reblogs, show_reblogs),
                           notify = coalesce(p_notify, notify)
         WHERE account_id = p_account AND target_account_id = p_target;
        RETURN 'following';
    END IF;

    SELECT locked INTO v_locked FROM accounts WHERE id = p_target;

    IF v_locked THEN
        INSERT INTO follow_requests (account_id, target_account_id,
                                     show_reblogs, notify)
        VALUES (p_account, p_target, coalesce(p_reblogs, true),
                coalesce(p_notify, false))
        ON CONFLICT (account_id, target_account_id) DO NOTHING;

        IF FOUND THEN
            INSERT INTO notifications (account_id, from_account_id, type)
            VALUES (p_target, p_account, 'follow_request');
        END IF;

        RETURN 'requested';
    END IF;

    INSERT INTO follows (account_id, target_account_id, show_reblogs, notify)
    VALUES (p_account, p_target, coalesce(p_reblogs, true),
            coalesce(p_notify, false));

    UPDATE accounts SET following_count = following_count + 1
     WHERE id = p_account;
    UPDATE accounts SET followers_count = followers_count + 1
     WHERE id = p_target;

    INSERT INTO notifications (account_id, from_account_id, type)
    VALUES (p_target, p_account, 'follow');

    -- their recent posts join the follower's home feed
    INSERT INTO feeds (account_id, status_id)
    SELECT p_account, s.id FROM statuses s
     WHERE s.account_id = p_target AND s.deleted_at IS NULL
       AND s.visibility IN ('public', 'unlisted', 'private')
       AND s.in_reply_to_id IS NULL
     ORDER BY s.id DESC LIMIT 400
    ON CONFLICT DO NOTHING;

    RETURN 'following';
END
$$;

CREATE FUNCTION fedi_unfollow(p_account bigint, p_target bigint)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM follow_requests WHERE account_id = p_account
       AND target_account_id = p_target;

    DELETE FROM follows WHERE account_id = p_account
       AND target_account_id = p_target;

    IF FOUND THEN
        UPDATE accounts SET following_count = greatest(following_count - 1, 0)
         WHERE id = p_account;
        UPDATE accounts SET followers_count = greatest(followers_count - 1, 0)
         WHERE id = p_target;
        DELETE FROM feeds f USING statuses s
         WHERE f.account_id = p_account AND s.id = f.status_id
           AND s.account_id = p_target
           AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = s.id
                              AND m.account_id = p_account);
    END IF;
END
$$;

-- A vote: 'ok', 'not_found', 'expired', 'voted' (already), 'invalid'
-- (a choice out of range, or several on a single-choice poll), 'own'.
CREATE FUNCTION fedi_poll_vote(p_account bigint, p_poll bigint,
                               p_choices integer[])
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_poll polls;
BEGIN
    SELECT p.* INTO v_poll FROM polls p JOIN statuses s ON s.id = p.status_id
     WHERE p.id = p_poll AND s.deleted_at IS NULL
       AND fedi_status_visible(s.id, s.account_id, s.visibility, p_account)
       FOR UPDATE OF p;

    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;

    IF v_poll.expires_at IS NOT NULL AND v_poll.expires_at <= now() THEN
        RETURN 'expired';
    END IF;

    IF v_poll.account_id = p_account THEN
        RETURN 'own';
    END IF;

    IF EXISTS (SELECT 1 FROM poll_votes WHERE poll_id = p_poll
                  AND account_id = p_account) THEN
        RETURN 'voted';
    END IF;

    IF cardinality(p_choices) = 0
       OR (NOT v_poll.multiple AND cardinality(p_choices) > 1)
       OR EXISTS (SELECT 1 FROM unnest(p_choices) c
                   WHERE c < 0 OR c >= cardinality(v_poll.options)) THEN
        RETURN 'invalid';
    END IF;

    INSERT INTO poll_votes (poll_id, account_id, choice)
    SELECT p_poll, p_account, c FROM (SELECT DISTINCT c FROM unnest(p_choices) c) x;

    UPDATE polls SET votes_count = votes_count
                       + (SELECT count(DISTINCT c) FROM unnest(p_choices) c),
                     voters_count = voters_count + 1
     WHERE id = p_poll;

    RETURN 'ok';
END
$$;
