-- The inbox, every activity: Create, Update, Delete, Like, Announce,
-- Block, Accept, Reject, Add, Remove and their Undo, beside Follow.
--
-- What needs C is done by the worker that received the activity, before
-- the 202 (ap_inbox_object.c): the object of a Create, an Update or an
-- Announce is taken as embedded only from the actor's own host, else
-- fetched from its origin (its id the URL finally fetched, of
-- ActivityPub's type), its attributedTo checked and its HTML sanitized
-- (gumbo, on the thread pool).  That object is stored beside the
-- activity; the processing here trusts it and never the body's.

ALTER TABLE inbox_activities ADD COLUMN object jsonb;

-- a remote favourite's Like, a remote poll's counts by option
ALTER TABLE favourites ADD COLUMN uri text;
ALTER TABLE polls ADD COLUMN remote_counts integer[];

CREATE INDEX favourites_uri ON favourites (uri) WHERE uri IS NOT NULL;
CREATE INDEX follow_requests_uri ON follow_requests (uri)
    WHERE uri IS NOT NULL;

DROP FUNCTION fedi_inbox_store(text, bigint, jsonb);

-- store a verified activity (p_account: the signer, who is its actor)
-- with the object C prepared (or NULL): its id, or NULL when it was here
-- already
CREATE FUNCTION fedi_inbox_store(p_uri text, p_account bigint,
                                 p_body jsonb, p_object jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO inbox_activities (uri, account_id, body, object)
    VALUES (p_uri, p_account, p_body, p_object)
    ON CONFLICT (uri) DO NOTHING
    RETURNING id INTO v_id;

    IF v_id IS NOT NULL THEN
        PERFORM pg_notify('fedi_inbox', '');
    END IF;

    RETURN v_id;
END
$$;

-- a URL's host as compared: lower case, no trailing dot, no port, no
-- user; NULL unless https and ASCII (C refuses other hosts before)
CREATE FUNCTION fedi_url_host(p text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p LIKE 'https://%'
                 AND translate(lower(split_part(split_part(split_part(
                         split_part(substr(p, 9), '/', 1), '?', 1), '#', 1),
                         ':', 1)),
                         'abcdefghijklmnopqrstuvwxyz0123456789.-', '') = ''
                THEN nullif(rtrim(lower(split_part(split_part(split_part(
                         split_part(substr(p, 9), '/', 1), '?', 1), '#', 1),
                         ':', 1)), '.'), '') END
$$;

-- the strings of a JSON value that is a string or an array of them (or
-- of objects with ids)
CREATE FUNCTION fedi_ap_ids(p jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(p)
           WHEN 'array' THEN ARRAY(SELECT fedi_ap_id(e)
                                     FROM jsonb_array_elements(p) e
                                    WHERE fedi_ap_id(e) IS NOT NULL)
           WHEN 'string' THEN ARRAY[p #>> '{}']
           WHEN 'object' THEN ARRAY[p ->> 'id']
           ELSE '{}' END
$$;

-- a status by its URI: ours (p_base/users/NAME/statuses/ID) or a remote
-- one we hold; never a deleted one
CREATE FUNCTION fedi_status_by_uri(p_uri text, p_base text)
RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_uri LIKE p_base || '/users/%' THEN
               (SELECT s.id FROM statuses s JOIN accounts a
                   ON a.id = s.account_id AND a.domain IS NULL
                 WHERE s.id = substring(p_uri FROM '/statuses/([0-9]{1,18})$')::bigint
                   AND p_uri = p_base || '/users/' || a.username
                               || '/statuses/' || s.id
                   AND s.deleted_at IS NULL)
           ELSE (SELECT id FROM statuses WHERE uri = p_uri
                    AND deleted_at IS NULL) END
$$;

-- an account by its actor's URI, local or remote
CREATE FUNCTION fedi_account_by_uri(p_uri text, p_base text)
RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce(fedi_local_by_uri(p_uri, p_base),
                    (SELECT id FROM accounts WHERE uri = p_uri
                        AND domain IS NOT NULL))
$$;

-- a timestamp from an xsd:dateTime, or NULL (never an error)
CREATE FUNCTION fedi_ap_time(p text)
RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p !~ '^[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\.[0-9]{1,9})?(Z|[+-][0-2][0-9]:?[0-5][0-9])$'
    THEN
        RETURN NULL;
    END IF;

    RETURN p::timestamptz;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- Mastodon's visibility from the addressing: public (as:Public, Public or
-- the full URI) in to, in cc (unlisted), the followers only (private),
-- else those mentioned (direct)
CREATE FUNCTION fedi_ap_visibility(p_obj jsonb, p_followers text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN fedi_ap_ids(p_obj -> 'to') && v.pub THEN 'public'
        WHEN fedi_ap_ids(p_obj -> 'cc') && v.pub THEN 'unlisted'
        WHEN p_followers <> ''
             AND (fedi_ap_ids(p_obj -> 'to') || fedi_ap_ids(p_obj -> 'cc'))
                 @> ARRAY[p_followers] THEN 'private'
        ELSE 'direct' END
      FROM (SELECT ARRAY['https://www.w3.org/ns/activitystreams#Public',
                         'as:Public', 'Public'] AS pub) v
$$;

-- the parts of a Note that become a status's columns
CREATE FUNCTION fedi_ap_content(p_obj jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT left(coalesce(p_obj ->> 'content',
                         (SELECT value FROM jsonb_each_text(p_obj -> 'contentMap')
                           WHERE jsonb_typeof(p_obj -> 'contentMap') = 'object'
                           LIMIT 1),
                         ''), 500000)
$$;

CREATE FUNCTION fedi_ap_language(p_obj jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT (SELECT lower(key) FROM jsonb_object_keys(p_obj -> 'contentMap') key
             WHERE jsonb_typeof(p_obj -> 'contentMap') = 'object'
               AND key ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$'
             LIMIT 1)
$$;

CREATE FUNCTION fedi_ap_summary(p_obj jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(p_obj -> 'summary') = 'string'
                THEN left(p_obj ->> 'summary', 1000) ELSE '' END
$$;

-- an Article or a Page as Mastodon shows one (it converts them): its
-- name, its summary and a link to it, as escaped text
CREATE FUNCTION fedi_ap_escape(p text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(replace(replace(replace(p, '&', '&amp;'), '<', '&lt;'),
                           '>', '&gt;'), '"', '&quot;')
$$;

CREATE FUNCTION fedi_ap_converted(p_obj jsonb, p_url text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce('<p>' || fedi_ap_escape(left(nullif(p_obj ->> 'name', ''),
                                                 500)) || '</p>', '')
        || coalesce('<p>' || fedi_ap_escape(left(nullif(p_obj ->> 'summary',
                                                        ''), 1000))
                    || '</p>', '')
        || '<p><a href="' || fedi_ap_escape(p_url)
        || '" rel="nofollow noopener noreferrer" target="_blank">'
        || fedi_ap_escape(p_url) || '</a></p>'
$$;

-- the accounts a Note mentions (tag of type Mention), those we know,
-- and, as Mastodon, the local accounts it is addressed to (to, cc)
CREATE FUNCTION fedi_ap_mentions(p_obj jsonb, p_base text)
RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT a), '{}') FROM (
        (SELECT fedi_account_by_uri(t ->> 'href', p_base) AS a
           FROM jsonb_array_elements(CASE jsonb_typeof(p_obj -> 'tag')
                    WHEN 'array' THEN p_obj -> 'tag'
                    WHEN 'object' THEN jsonb_build_array(p_obj -> 'tag')
                    ELSE '[]' END) t
          WHERE t ->> 'type' = 'Mention' LIMIT 100)
        UNION ALL
        (SELECT fedi_local_by_uri(u, p_base)
           FROM unnest(fedi_ap_ids(p_obj -> 'to')
                       || fedi_ap_ids(p_obj -> 'cc')) u
          WHERE u LIKE p_base || '/users/%' LIMIT 100)) x
     WHERE a IS NOT NULL
$$;

-- its hashtags (tag of type Hashtag), names without the #
CREATE FUNCTION fedi_ap_tags(p_obj jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(DISTINCT n), '{}') FROM (
        SELECT ltrim(t ->> 'name', '#') AS n
          FROM jsonb_array_elements(CASE jsonb_typeof(p_obj -> 'tag')
                   WHEN 'array' THEN p_obj -> 'tag'
                   WHEN 'object' THEN jsonb_build_array(p_obj -> 'tag')
                   ELSE '[]' END) t
         WHERE t ->> 'type' = 'Hashtag' LIMIT 100) x
     WHERE n ~ '^[[:alnum:]_]{1,100}$'
$$;

-- a Question's options in order, and whether several may be chosen
CREATE FUNCTION fedi_ap_poll_options(p_obj jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(p_obj -> 'oneOf') = 'array'
                THEN p_obj -> 'oneOf'
                WHEN jsonb_typeof(p_obj -> 'anyOf') = 'array'
                THEN p_obj -> 'anyOf' END
$$;

-- The status of a remote Note (Question, Article, Page) by p_author,
-- with its mentions, tags and poll, in the feeds of the author's local
-- followers and of the local accounts it mentions, who are notified.
-- Its id, or NULL when it is no status of p_author's host.  p_later: the
-- followers' feeds and the author's counters are left to the caller
-- (fedi_inbox_run does them once for a batch: one statement for every
-- feed row, one update of each author's row).
CREATE FUNCTION fedi_remote_status(p_obj jsonb, p_author bigint,
                                   p_base text, p_later boolean)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_author     accounts;
    v_uri        text := p_obj ->> 'id';
    v_id         bigint;
    v_reply      bigint;
    v_reply_to   bigint;
    v_published  timestamptz;
    v_visibility text;
    v_mentions   bigint[];
    v_tags       text[];
    v_options    jsonb;
    v_url        text;
    v_converted  boolean := p_obj ->> 'type' IN ('Article', 'Page');
BEGIN
    SELECT * INTO v_author FROM accounts WHERE id = p_author;

    IF v_author.domain IS NULL
       OR p_obj ->> 'type' NOT IN ('Note', 'Question', 'Article', 'Page')
       OR fedi_https_url(p_obj -> 'id') IS NULL
       OR fedi_url_host(v_uri) IS NULL
       OR fedi_url_host(v_uri) IS DISTINCT FROM fedi_url_host(v_author.uri)
       OR fedi_ap_ids(p_obj -> 'attributedTo') <> ARRAY[v_author.uri]
    THEN
        RETURN NULL;
    END IF;

    SELECT id INTO v_id FROM statuses WHERE uri = v_uri;
    IF v_id IS NOT NULL THEN
        RETURN v_id;
    END IF;

    v_published := least(coalesce(fedi_ap_time(p_obj ->> 'published'),
                                   now()), now());
    v_visibility := fedi_ap_visibility(p_obj, v_author.followers_url);
    v_mentions := fedi_ap_mentions(p_obj, p_base);
    v_tags := fedi_ap_tags(p_obj);
    v_url := coalesce(fedi_https_url(p_obj -> 'url'),
                      fedi_https_url(p_obj #> '{url,0}'),
                      fedi_https_url(p_obj #> '{url,href}'),
                      fedi_https_url(p_obj #> '{url,0,href}'), v_uri);

    IF p_obj ? 'inReplyTo' THEN
        v_reply := fedi_status_by_uri(fedi_ap_id(p_obj -> 'inReplyTo'),
                                      p_base);
    END IF;
    IF v_reply IS NOT NULL THEN
        SELECT account_id INTO v_reply_to FROM statuses WHERE id = v_reply;
    END IF;

    v_id := fedi_id_at(v_published);

    INSERT INTO statuses (id, account_id, uri, url, content, spoiler_text,
                          sensitive, visibility, language, in_reply_to_id,
                          in_reply_to_account_id, conversation_id,
                          created_at, updated_at)
    VALUES (v_id, p_author, v_uri, v_url,
            CASE WHEN v_converted THEN fedi_ap_converted(p_obj, v_url)
                 ELSE fedi_ap_content(p_obj) END,
            CASE WHEN v_converted THEN '' ELSE fedi_ap_summary(p_obj) END,
            coalesce(fedi_jbool(p_obj -> 'sensitive'), false)
            OR (NOT v_converted AND fedi_ap_summary(p_obj) <> ''),
            v_visibility, fedi_ap_language(p_obj), v_reply, v_reply_to,
            coalesce((SELECT conversation_id FROM statuses
                       WHERE id = v_reply), v_id),
            v_published, v_published);

    INSERT INTO mentions (status_id, account_id)
    SELECT v_id, m FROM unnest(v_mentions) m ON CONFLICT DO NOTHING;

    INSERT INTO tags (name)
    SELECT t FROM unnest(v_tags) t ON CONFLICT (lower(name)) DO NOTHING;
    INSERT INTO statuses_tags (status_id, tag_id)
    SELECT DISTINCT v_id, g.id FROM unnest(v_tags) t
      JOIN tags g ON lower(g.name) = lower(t)
    ON CONFLICT DO NOTHING;

    v_options := fedi_ap_poll_options(p_obj);
    IF p_obj ->> 'type' = 'Question' AND v_options IS NOT NULL
       AND jsonb_array_length(v_options) BETWEEN 1 AND 50
    THEN
        INSERT INTO polls (status_id, account_id, options, multiple,
                           expires_at, voters_count, votes_count,
                           remote_counts)
        SELECT v_id, p_author,
               array_agg(left(coalesce(o ->> 'name', ''), 500) ORDER BY n),
               p_obj ? 'anyOf',
               fedi_ap_time(coalesce(p_obj ->> 'endTime',
                                     p_obj ->> 'closed')),
               coalesce((p_obj ->> 'votersCount')::integer, 0),
               sum(greatest(coalesce((o #>> '{replies,totalItems}')::integer,
                                     0), 0)),
               array_agg(greatest(coalesce((o #>> '{replies,totalItems}')::integer,
                                           0), 0) ORDER BY n)
          FROM jsonb_array_elements(v_options) WITH ORDINALITY e(o, n);
    END IF;

    -- followers' feeds, then the mentioned (who are notified), never
    -- across a block
    IF v_visibility <> 'direct' AND NOT p_later THEN
        PERFORM fedi_fanout(v_id);
    END IF;

    INSERT INTO feeds (account_id, status_id)
    SELECT m, v_id FROM unnest(v_mentions) m
      JOIN accounts a ON a.id = m AND a.domain IS NULL
     WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = m
                          AND b.target_account_id = p_author)
    ON CONFLICT DO NOTHING;

    INSERT INTO notifications (account_id, from_account_id, type, status_id)
    SELECT m, p_author, 'mention', v_id FROM unnest(v_mentions) m
      JOIN accounts a ON a.id = m AND a.domain IS NULL
     WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = m
                          AND b.target_account_id = p_author);

    IF NOT p_later THEN
        UPDATE accounts SET statuses_count = statuses_count + 1,
                            last_status_at = greatest(last_status_at,
                                                      v_published)
         WHERE id = p_author;
    END IF;

    IF v_reply IS NOT NULL THEN
        UPDATE statuses SET replies_count = replies_count + 1
         WHERE id = v_reply;
    END IF;

    RETURN v_id;
END
$$;

-- A remote status gone: a tombstone (deleted_at), out of every feed, its
-- boosts with it
CREATE FUNCTION fedi_remote_status_delete(p_status bigint)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_status statuses;
BEGIN
    UPDATE statuses SET deleted_at = now()
     WHERE id = p_status AND deleted_at IS NULL
    RETURNING * INTO v_status;

    IF NOT FOUND THEN
        RETURN;
    END IF;

    UPDATE accounts SET statuses_count = greatest(statuses_count - 1, 0)
     WHERE id = v_status.account_id;

    IF v_status.in_reply_to_id IS NOT NULL THEN
        UPDATE statuses SET replies_count = greatest(replies_count - 1, 0)
         WHERE id = v_status.in_reply_to_id;
    END IF;

    IF v_status.reblog_of_id IS NOT NULL THEN
        UPDATE statuses SET reblogs_count = greatest(reblogs_count - 1, 0)
         WHERE id = v_status.reblog_of_id;
        DELETE FROM notifications WHERE type = 'reblog'
           AND from_account_id = v_status.account_id
           AND status_id = v_status.reblog_of_id;
    END IF;

    UPDATE statuses SET deleted_at = now()
     WHERE reblog_of_id = p_status AND deleted_at IS NULL;
    DELETE FROM feeds WHERE status_id = p_status
        OR status_id IN (SELECT id FROM statuses WHERE reblog_of_id = p_status);
    DELETE FROM notifications WHERE status_id = p_status;
END
$$;

-- the Create (p_obj prepared by C, or NULL) of p_act
CREATE FUNCTION fedi_inbox_create(p_act inbox_activities, p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_act.object IS NULL THEN
        RETURN 'create: no trusted object';
    END IF;

    IF p_act.object ->> 'type' NOT IN ('Note', 'Question', 'Article',
                                       'Page') THEN
        RETURN 'ignored: create of ' || coalesce(p_act.object ->> 'type', '?');
    END IF;

    IF EXISTS (SELECT 1 FROM statuses WHERE uri = p_act.object ->> 'id')
    THEN
        RETURN 'create: known already';
    END IF;

    v_id := fedi_remote_status(p_act.object, p_act.account_id, p_base,
                               true);

    RETURN CASE WHEN v_id IS NULL THEN 'create: not the actor''s'
                ELSE 'create ' || v_id END;
END
$$;

-- an Update: of a status of the actor's (an edit, the old version kept),
-- or of the actor itself (its profile)
CREATE FUNCTION fedi_inbox_update(p_act inbox_activities, p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_obj     jsonb := p_act.object;
    v_account accounts;
    v_status  statuses;
    v_options jsonb;
BEGIN
    SELECT * INTO v_account FROM accounts WHERE id = p_act.account_id;

    IF v_obj IS NULL THEN
        RETURN 'update: no trusted object';
    END IF;

    IF v_obj ->> 'type' IN ('Person', 'Service', 'Group', 'Organization',
                            'Application') THEN
        IF v_obj ->> 'id' IS DISTINCT FROM v_account.uri THEN
            RETURN 'update: not the actor';
        END IF;
        IF fedi_remote_account(v_obj, v_account.domain, v_account.uri)
           IS NULL THEN
            RETURN 'update: not an actor';
        END IF;
        RETURN 'update actor';
    END IF;

    SELECT * INTO v_status FROM statuses
     WHERE uri = v_obj ->> 'id' AND deleted_at IS NULL;

    IF NOT FOUND THEN
        RETURN 'update: no such status';
    END IF;

    IF v_status.account_id <> p_act.account_id
       OR fedi_ap_ids(v_obj -> 'attributedTo') <> ARRAY[v_account.uri] THEN
        RETURN 'update: not the owner';
    END IF;

    -- poll counts alone are no edit
    v_options := fedi_ap_poll_options(v_obj);
    IF v_options IS NOT NULL THEN
        UPDATE polls SET
            remote_counts = (SELECT array_agg(greatest(coalesce(
                    (o #>> '{replies,totalItems}')::integer, 0), 0)
                    ORDER BY n)
                  FROM jsonb_array_elements(v_options) WITH ORDINALITY e(o, n)),
            voters_count = coalesce((v_obj ->> 'votersCount')::integer,
                                    voters_count)
         WHERE status_id = v_status.id;
    END IF;

    IF fedi_ap_content(v_obj) = v_status.content
       AND fedi_ap_summary(v_obj) = v_status.spoiler_text THEN
        RETURN 'update: unchanged';
    END IF;

    PERFORM fedi_edit_status(p_act.account_id, v_status.id, '',
                             fedi_ap_content(v_obj), fedi_ap_summary(v_obj),
                             coalesce(fedi_jbool(v_obj -> 'sensitive'), false)
                             OR fedi_ap_summary(v_obj) <> '',
                             fedi_ap_language(v_obj),
                             fedi_ap_mentions(v_obj, p_base),
                             fedi_ap_tags(v_obj));

    UPDATE statuses
       SET edited_at = coalesce(fedi_ap_time(v_obj ->> 'updated'), now())
     WHERE id = v_status.id;

    RETURN 'update status';
END
$$;

-- a Delete: of a status of the actor's, or of the actor (all it posted
-- goes, its follows both ways, and it can sign nothing more)
CREATE FUNCTION fedi_inbox_delete(p_act inbox_activities, p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_target  text := fedi_ap_id(p_act.body -> 'object');
    v_account accounts;
    v_status  statuses;
    v_other   bigint;
BEGIN
    SELECT * INTO v_account FROM accounts WHERE id = p_act.account_id;

    IF v_target = v_account.uri THEN
        FOR v_other IN SELECT target_account_id FROM follows
                        WHERE account_id = v_account.id
                       UNION
                       SELECT target_account_id FROM follow_requests
                        WHERE account_id = v_account.id LOOP
            PERFORM fedi_unfollow(v_account.id, v_other);
        END LOOP;
        FOR v_other IN SELECT account_id FROM follows
                        WHERE target_account_id = v_account.id
                       UNION
                       SELECT account_id FROM follow_requests
                        WHERE target_account_id = v_account.id LOOP
            PERFORM fedi_unfollow(v_other, v_account.id);
        END LOOP;

        -- the statuses go for good (favourites, boosts, mentions and
        -- notifications of them with them)
        UPDATE statuses SET reblogs_count = greatest(reblogs_count - 1, 0)
         WHERE id IN (SELECT reblog_of_id FROM statuses
                       WHERE account_id = v_account.id
                         AND reblog_of_id IS NOT NULL
                         AND deleted_at IS NULL);
        UPDATE statuses s SET replies_count = greatest(s.replies_count - r.n, 0)
          FROM (SELECT in_reply_to_id, count(*) AS n FROM statuses
                 WHERE account_id = v_account.id AND deleted_at IS NULL
                   AND in_reply_to_id IS NOT NULL
                 GROUP BY in_reply_to_id) r
         WHERE s.id = r.in_reply_to_id;
        UPDATE statuses SET favourites_count = greatest(favourites_count - 1, 0)
         WHERE id IN (SELECT status_id FROM favourites
                       WHERE account_id = v_account.id);
        DELETE FROM favourites WHERE account_id = v_account.id;
        DELETE FROM statuses WHERE account_id = v_account.id;
        DELETE FROM notifications WHERE from_account_id = v_account.id;
        UPDATE accounts SET suspended_at = now(), statuses_count = 0,
                            note = '', display_name = ''
         WHERE id = v_account.id;
        RETURN 'delete actor';
    END IF;

    SELECT * INTO v_status FROM statuses
     WHERE uri = v_target AND deleted_at IS NULL;

    IF NOT FOUND THEN
        RETURN 'delete: no such status';
    END IF;

    IF v_status.account_id <> p_act.account_id THEN
        RETURN 'delete: not the owner';
    END IF;

    PERFORM fedi_remote_status_delete(v_status.id);

    RETURN 'delete status';
END
$$;

-- Like: a favourite (by its Like's id, for the Undo) and its notification
CREATE FUNCTION fedi_inbox_like(p_act inbox_activities, p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_status bigint;
BEGIN
    v_status := fedi_status_by_uri(fedi_ap_id(p_act.body -> 'object'),
                                   p_base);

    IF v_status IS NULL THEN
        RETURN 'like: no such status';
    END IF;

    IF NOT fedi_favourite(p_act.account_id, v_status, true) THEN
        RETURN 'like: not visible to the actor';
    END IF;

    UPDATE favourites SET uri = p_act.uri
     WHERE account_id = p_act.account_id AND status_id = v_status;

    RETURN 'like';
END
$$;

-- Announce: a boost of a status we hold, or of the one C fetched from
-- its origin (stored first, with its author C resolved)
CREATE FUNCTION fedi_inbox_announce(p_act inbox_activities, p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_status     bigint;
    v_author     bigint;
    v_id         bigint;
    v_visibility text;
BEGIN
    v_status := fedi_status_by_uri(fedi_ap_id(p_act.body -> 'object'),
                                   p_base);

    IF v_status IS NULL AND p_act.object IS NOT NULL THEN
        v_author := (SELECT id FROM accounts
                      WHERE uri = (fedi_ap_ids(p_act.object
                                               -> 'attributedTo'))[1]
                        AND domain IS NOT NULL);
        IF v_author IS NOT NULL THEN
            v_status := fedi_remote_status(p_act.object, v_author, p_base,
                                           false);
        END IF;
    END IF;

    IF v_status IS NULL THEN
        RETURN 'announce: no such status';
    END IF;

    v_visibility := fedi_ap_visibility(p_act.body,
        (SELECT followers_url FROM accounts WHERE id = p_act.account_id));

    v_id := fedi_reblog(p_act.account_id, v_status,
                        CASE WHEN v_visibility IN ('public', 'unlisted')
                             THEN v_visibility ELSE 'private' END, true);

    IF v_id IS NULL OR v_id < 0 THEN
        RETURN 'announce: may not boost it';
    END IF;

    UPDATE statuses SET uri = p_act.uri
     WHERE id = v_id AND uri IS NULL
       AND NOT EXISTS (SELECT 1 FROM statuses WHERE uri = p_act.uri);

    RETURN 'announce ' || v_id;
END
$$;

-- Undo of a Follow, a Like, an Announce or a Block: by the undone
-- activity's id, or by its value when given so
CREATE FUNCTION fedi_inbox_undo(p_act inbox_activities, p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_object jsonb := p_act.body -> 'object';
    v_uri    text := fedi_ap_id(p_act.body -> 'object');
    v_type   text := p_act.body #>> '{object,type}';
    v_target bigint;
BEGIN
    -- a Follow of ours
    IF v_type IS NULL OR v_type = 'Follow' THEN
        SELECT target_account_id INTO v_target FROM follows
         WHERE account_id = p_act.account_id AND uri = v_uri;
        IF v_target IS NULL THEN
            SELECT target_account_id INTO v_target FROM follow_requests
             WHERE account_id = p_act.account_id AND uri = v_uri;
        END IF;
        IF v_target IS NULL AND v_type = 'Follow' THEN
            v_target := fedi_local_by_uri(fedi_ap_id(v_object -> 'object'),
                                          p_base);
        END IF;
        IF v_target IS NOT NULL THEN
            PERFORM fedi_unfollow(p_act.account_id, v_target);
            RETURN 'undo follow';
        END IF;
    END IF;

    IF v_type IS NULL OR v_type = 'Like' THEN
        SELECT status_id INTO v_target FROM favourites
         WHERE account_id = p_act.account_id AND uri = v_uri;
        IF v_target IS NULL AND v_type = 'Like' THEN
            v_target := fedi_status_by_uri(fedi_ap_id(v_object -> 'object'),
                                           p_base);
        END IF;
        IF v_target IS NOT NULL THEN
            PERFORM fedi_favourite(p_act.account_id, v_target, false);
            RETURN 'undo like';
        END IF;
    END IF;

    IF v_type IS NULL OR v_type = 'Announce' THEN
        SELECT reblog_of_id INTO v_target FROM statuses
         WHERE account_id = p_act.account_id AND uri = v_uri
           AND reblog_of_id IS NOT NULL AND deleted_at IS NULL;
        IF v_target IS NULL AND v_type = 'Announce' THEN
            v_target := fedi_status_by_uri(fedi_ap_id(v_object -> 'object'),
                                           p_base);
        END IF;
        IF v_target IS NOT NULL THEN
            PERFORM fedi_reblog(p_act.account_id, v_target, NULL, false);
            RETURN 'undo announce';
        END IF;
    END IF;

    IF v_type IS NULL OR v_type = 'Block' THEN
        SELECT target_account_id INTO v_target FROM blocks
         WHERE account_id = p_act.account_id AND uri = v_uri;
        IF v_target IS NULL AND v_type = 'Block' THEN
            v_target := fedi_local_by_uri(fedi_ap_id(v_object -> 'object'),
                                          p_base);
        END IF;
        IF v_target IS NOT NULL THEN
            PERFORM fedi_block(p_act.account_id, v_target, false);
            RETURN 'undo block';
        END IF;
    END IF;

    RETURN 'undo: nothing to undo';
END
$$;

-- Accept or Reject of a local account's request to follow the actor: the
-- Follow by its id, or by value (its actor ours, its object the actor)
CREATE FUNCTION fedi_inbox_answer(p_act inbox_activities, p_base text,
                                  p_accept boolean)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_object jsonb := p_act.body -> 'object';
    v_local  bigint;
    v_uri    text;
    v_actor  text := (SELECT uri FROM accounts WHERE id = p_act.account_id);
BEGIN
    SELECT account_id INTO v_local FROM follow_requests
     WHERE target_account_id = p_act.account_id
       AND uri = fedi_ap_id(v_object);

    IF v_local IS NULL AND jsonb_typeof(v_object) = 'object'
       AND v_object ->> 'type' = 'Follow'
       AND fedi_ap_id(v_object -> 'object') = v_actor THEN
        v_local := fedi_local_by_uri(fedi_ap_id(v_object -> 'actor'), p_base);
    END IF;

    IF v_local IS NULL AND NOT p_accept THEN
        -- a Reject after the Accept ends the follow
        SELECT account_id INTO v_local FROM follows
         WHERE target_account_id = p_act.account_id
           AND (uri = fedi_ap_id(v_object)
                OR account_id = fedi_local_by_uri(
                       fedi_ap_id(v_object -> 'actor'), p_base));
        IF v_local IS NOT NULL THEN
            PERFORM fedi_unfollow(v_local, p_act.account_id);
            RETURN 'reject: follow ended';
        END IF;
    END IF;

    IF v_local IS NULL THEN
        RETURN CASE WHEN p_accept THEN 'accept' ELSE 'reject' END
               || ': no such follow request';
    END IF;

    -- the follow keeps the Follow's id, for a Reject that comes later
    SELECT uri INTO v_uri FROM follow_requests
     WHERE account_id = v_local AND target_account_id = p_act.account_id;

    PERFORM fedi_follow_request(p_act.account_id, v_local, p_accept);

    IF p_accept THEN
        UPDATE follows SET uri = v_uri
         WHERE account_id = v_local AND target_account_id = p_act.account_id;
    END IF;

    RETURN CASE WHEN p_accept THEN 'accept' ELSE 'reject' END;
END
$$;

-- Add / Remove to the actor's featured collection: pins
CREATE FUNCTION fedi_inbox_featured(p_act inbox_activities, p_base text,
                                    p_add boolean)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_status bigint;
BEGIN
    IF fedi_ap_id(p_act.body -> 'target') IS DISTINCT FROM
       (SELECT nullif(featured_url, '') FROM accounts
         WHERE id = p_act.account_id) THEN
        RETURN 'ignored: not the featured collection';
    END IF;

    SELECT id INTO v_status FROM statuses
     WHERE uri = fedi_ap_id(p_act.body -> 'object')
       AND account_id = p_act.account_id AND deleted_at IS NULL;

    IF v_status IS NULL THEN
        RETURN 'featured: no such status of the actor';
    END IF;

    IF p_add THEN
        INSERT INTO status_pins (account_id, status_id)
        VALUES (p_act.account_id, v_status) ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM status_pins WHERE account_id = p_act.account_id
           AND status_id = v_status;
    END IF;

    RETURN CASE WHEN p_add THEN 'add' ELSE 'remove' END;
END
$$;

-- Move of the actor to its target (fetched by C from its origin), which
-- must name the actor in its alsoKnownAs: the old account says where it
-- went; its local followers stop following it and ask to follow the new
-- one (pending requests, as for any remote account: the delivery process
-- sends the Follow)
CREATE FUNCTION fedi_inbox_move(p_act inbox_activities, p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_old    accounts;
    v_target text := fedi_ap_id(p_act.body -> 'target');
    v_new    bigint;
    v_local  bigint;
    v_n      integer := 0;
BEGIN
    SELECT * INTO v_old FROM accounts WHERE id = p_act.account_id;

    IF fedi_ap_id(p_act.body -> 'object') IS DISTINCT FROM v_old.uri THEN
        RETURN 'move: not of the actor';
    END IF;

    IF p_act.object IS NULL
       OR p_act.object ->> 'id' IS DISTINCT FROM v_target THEN
        RETURN 'move: no trusted target';
    END IF;

    IF NOT fedi_ap_ids(p_act.object -> 'alsoKnownAs') @> ARRAY[v_old.uri]
    THEN
        RETURN 'move: the target does not know the actor (alsoKnownAs)';
    END IF;

    v_new := fedi_remote_account(p_act.object, fedi_url_host(v_target),
                                 v_target);
    IF v_new IS NULL OR v_new = v_old.id THEN
        RETURN 'move: the target is no actor';
    END IF;

    UPDATE accounts SET also_known_as = fedi_ap_ids(p_act.object
                                                    -> 'alsoKnownAs')
     WHERE id = v_new;
    UPDATE accounts SET moved_to_account_id = v_new WHERE id = v_old.id;

    FOR v_local IN SELECT f.account_id FROM follows f
                     JOIN accounts a ON a.id = f.account_id
                                    AND a.domain IS NULL
                    WHERE f.target_account_id = v_old.id LOOP
        PERFORM fedi_unfollow(v_local, v_old.id);
        IF NOT EXISTS (SELECT 1 FROM follows WHERE account_id = v_local
                          AND target_account_id = v_new)
           AND NOT EXISTS (SELECT 1 FROM blocks
                            WHERE (account_id = v_local
                                   AND target_account_id = v_new)
                               OR (account_id = v_new
                                   AND target_account_id = v_local)) THEN
            INSERT INTO follow_requests (account_id, target_account_id)
            VALUES (v_local, v_new) ON CONFLICT DO NOTHING;
        END IF;
        v_n := v_n + 1;
    END LOOP;

    RETURN 'move ' || v_n;
END
$$;

CREATE OR REPLACE FUNCTION fedi_inbox_process(p_act inbox_activities,
                                              p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_type   text := p_act.body ->> 'type';
    v_object jsonb := p_act.body -> 'object';
    v_target bigint;
BEGIN
    IF p_act.body ?| ARRAY['@graph', '@included', '@reverse'] THEN
        RETURN 'refused: JSON-LD graph';
    END IF;

    CASE v_type
    WHEN 'Follow' THEN
        v_target := fedi_local_by_uri(fedi_ap_id(v_object), p_base);
        IF v_target IS NULL THEN
            RETURN 'follow: no such local account';
        END IF;
        IF EXISTS (SELECT 1 FROM blocks WHERE account_id = v_target
                   AND target_account_id = p_act.account_id) THEN
            RETURN 'follow: blocked';
        END IF;
        PERFORM fedi_follow(p_act.account_id, v_target, NULL, NULL);
        UPDATE follows SET uri = p_act.uri
         WHERE account_id = p_act.account_id
           AND target_account_id = v_target;
        UPDATE follow_requests SET uri = p_act.uri
         WHERE account_id = p_act.account_id
           AND target_account_id = v_target;
        RETURN 'follow';
    WHEN 'Undo' THEN
        RETURN fedi_inbox_undo(p_act, p_base);
    WHEN 'Create' THEN
        RETURN fedi_inbox_create(p_act, p_base);
    WHEN 'Update' THEN
        RETURN fedi_inbox_update(p_act, p_base);
    WHEN 'Delete' THEN
        RETURN fedi_inbox_delete(p_act, p_base);
    WHEN 'Like' THEN
        RETURN fedi_inbox_like(p_act, p_base);
    WHEN 'Announce' THEN
        RETURN fedi_inbox_announce(p_act, p_base);
    WHEN 'Accept' THEN
        RETURN fedi_inbox_answer(p_act, p_base, true);
    WHEN 'Reject' THEN
        RETURN fedi_inbox_answer(p_act, p_base, false);
    WHEN 'Add' THEN
        RETURN fedi_inbox_featured(p_act, p_base, true);
    WHEN 'Remove' THEN
        RETURN fedi_inbox_featured(p_act, p_base, false);
    WHEN 'Move' THEN
        RETURN fedi_inbox_move(p_act, p_base);
    WHEN 'Block' THEN
        v_target := fedi_local_by_uri(fedi_ap_id(v_object), p_base);
        IF v_target IS NULL THEN
            RETURN 'block: no such local account';
        END IF;
        PERFORM fedi_block(p_act.account_id, v_target, true);
        UPDATE blocks SET uri = p_act.uri
         WHERE account_id = p_act.account_id
           AND target_account_id = v_target;
        RETURN 'block';
    ELSE
        RETURN 'ignored: ' || coalesce(v_type, 'no type');
    END CASE;
END
$$;

-- the background processing: up to p_limit activities, oldest first,
-- shared out between workers and nodes, each on its own (one that fails
-- is recorded as failed, the others are done); the number done
CREATE OR REPLACE FUNCTION fedi_inbox_run(p_limit integer, p_base text)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_act     inbox_activities;
    v_n       integer := 0;
    v_outcome text;
    v_created bigint[] := '{}';
BEGIN
    FOR v_act IN SELECT * FROM inbox_activities
                  WHERE processed_at IS NULL
                  ORDER BY id LIMIT p_limit
                  FOR UPDATE SKIP LOCKED
    LOOP
        BEGIN
            v_outcome := fedi_inbox_process(v_act, p_base);
        EXCEPTION WHEN others THEN
            v_outcome := 'failed: ' || SQLERRM;
        END;

        IF v_outcome LIKE 'create %' THEN
            v_created := v_created || substr(v_outcome, 8)::bigint;
        END IF;

        UPDATE inbox_activities
           SET processed_at = now(), outcome = v_outcome
         WHERE id = v_act.id;
        v_n := v_n + 1;
    END LOOP;

    -- what the Creates left for the batch (see fedi_remote_status)
    IF cardinality(v_created) > 0 THEN
        PERFORM fedi_fanout_many(ARRAY(SELECT id FROM statuses
                                        WHERE id = ANY (v_created)
                                          AND visibility <> 'direct'));

        UPDATE accounts a SET statuses_count = a.statuses_count + c.n,
                              last_status_at = greatest(a.last_status_at,
                                                        c.last)
          FROM (SELECT account_id, count(*) AS n, max(created_at) AS last
                  FROM statuses WHERE id = ANY (v_created)
                 GROUP BY account_id) c
         WHERE a.id = c.account_id;
    END IF;

    RETURN v_n;
END
$$;
