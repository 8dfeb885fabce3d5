-- The inbox's hot helpers in PL/pgSQL, same answers.  A LANGUAGE sql
-- function that PostgreSQL cannot inline (one with a FROM or a subquery)
-- is parsed and planned again each time a statement calls it: a profile
-- of 3,000 stored Creates (pg_stat_statements, track = all) put 45 % of
-- the processing in such calls (fedi_ap_ids alone ran 18,000 times, the
-- stream triggers' fedi_stream_broadcast and fedi_stream_local 6,000
-- each).  PL/pgSQL keeps its plans for the session.  fedi_fanout_many()
-- stays as it is: a plan made for each call's statuses suits it.  The
-- stream triggers that run once per statement also return at once when
-- the statement added no rows (most inserts of a Create's mentions add
-- none).

-- the ids of a property: a string, an object's id, or an array of those
CREATE OR REPLACE FUNCTION fedi_ap_ids(p jsonb)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_ids text[] := '{}';
    v_e   jsonb;
    v_id  text;
BEGIN
    CASE jsonb_typeof(p)
    WHEN 'string' THEN
        RETURN ARRAY[p #>> '{}'];
    WHEN 'object' THEN
        RETURN ARRAY[p ->> 'id'];
    WHEN 'array' THEN
        FOR i IN 0 .. jsonb_array_length(p) - 1 LOOP
            v_e := p -> i;
            v_id := CASE jsonb_typeof(v_e) WHEN 'string' THEN v_e #>> '{}'
                                           WHEN 'object' THEN v_e ->> 'id' END;
            IF v_id IS NOT NULL THEN
                v_ids := v_ids || v_id;
            END IF;
        END LOOP;
        RETURN v_ids;
    ELSE
        RETURN '{}';
    END CASE;
END
$$;

-- to and cc read once each
CREATE OR REPLACE FUNCTION fedi_ap_visibility(p_obj jsonb, p_followers text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_pub text[] := ARRAY['https://www.w3.org/ns/activitystreams#Public',
                          'as:Public', 'Public'];
    v_to  text[] := fedi_ap_ids(p_obj -> 'to');
    v_cc  text[] := fedi_ap_ids(p_obj -> 'cc');
BEGIN
    RETURN CASE
        WHEN v_to && v_pub THEN 'public'
        WHEN v_cc && v_pub THEN 'unlisted'
        WHEN p_followers <> '' AND (v_to || v_cc) @> ARRAY[p_followers]
            THEN 'private'
        ELSE 'direct' END;
END
$$;

CREATE OR REPLACE FUNCTION fedi_ap_mentions(p_obj jsonb, p_base text)
RETURNS bigint[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(DISTINCT a), '{}') FROM (
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
     WHERE a IS NOT NULL);
END
$$;

CREATE OR REPLACE FUNCTION fedi_ap_tags(p_obj jsonb)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(DISTINCT n), '{}') FROM (
        SELECT ltrim(t ->> 'name', '#') AS n
          FROM jsonb_array_elements(CASE jsonb_typeof(p_obj -> 'tag')
                   WHEN 'array' THEN p_obj -> 'tag'
                   WHEN 'object' THEN jsonb_build_array(p_obj -> 'tag')
                   ELSE '[]' END) t
         WHERE t ->> 'type' = 'Hashtag' LIMIT 100) x
     WHERE n ~ '^[[:alnum:]_]{1,100}$');
END
$$;

CREATE OR REPLACE FUNCTION fedi_ap_content(p_obj jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF jsonb_typeof(p_obj -> 'content') IS NOT NULL
       AND jsonb_typeof(p_obj -> 'content') <> 'null' THEN
        RETURN left(p_obj ->> 'content', 500000);
    END IF;

    RETURN left(coalesce((SELECT value
                            FROM jsonb_each_text(p_obj -> 'contentMap')
                           WHERE jsonb_typeof(p_obj -> 'contentMap')
                                 = 'object'
                           LIMIT 1), ''), 500000);
END
$$;

CREATE OR REPLACE FUNCTION fedi_ap_language(p_obj jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF jsonb_typeof(p_obj -> 'contentMap') IS DISTINCT FROM 'object' THEN
        RETURN NULL;
    END IF;

    RETURN (SELECT lower(key) FROM jsonb_object_keys(p_obj -> 'contentMap') key
             WHERE key ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$'
             LIMIT 1);
END
$$;

CREATE OR REPLACE FUNCTION fedi_stream_broadcast(s statuses)
RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN s.visibility = 'public' AND s.reblog_of_id IS NULL
       AND s.deleted_at IS NULL
       AND (s.in_reply_to_account_id IS NULL
            OR s.in_reply_to_account_id = s.account_id)
       AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.account_id
                      AND a.silenced_at IS NULL AND a.suspended_at IS NULL);
END
$$;

CREATE OR REPLACE FUNCTION fedi_stream_local(p_account bigint)
RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT domain IS NULL FROM accounts WHERE id = p_account);
END
$$;


-- The statement triggers of the streams: nothing to say for a statement
-- that added no rows (restated whole from sql/0030 and sql/0018, which
-- they replace; the change is the first test.  The home feeds' backfill
-- check keeps its volatile fedi_id_at(): with a stable expression there
-- the planner may hash the whole follows table for every fan-out)
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

    IF fedi_stream_quiet() OR NOT EXISTS (SELECT 1 FROM new_feeds) THEN
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

CREATE OR REPLACE FUNCTION fedi_stream_mentions_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF fedi_stream_quiet() OR NOT EXISTS (SELECT 1 FROM new_mentions) THEN
        RETURN NULL;
    END IF;

    INSERT INTO stream_events (stream, event, object_id)
    SELECT DISTINCT 'direct:' || x.account_id, 'conversation',
           coalesce(s.conversation_id, s.id)
      FROM (SELECT DISTINCT status_id FROM new_mentions) n
      JOIN statuses s ON s.id = n.status_id
      CROSS JOIN LATERAL (SELECT s.account_id
                          UNION SELECT m.account_id FROM mentions m
                           WHERE m.status_id = s.id) x
      JOIN accounts a ON a.id = x.account_id AND a.domain IS NULL
     WHERE s.visibility = 'direct' AND s.edited_at IS NULL
       AND s.deleted_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM stream_events e
                        WHERE e.object_id = coalesce(s.conversation_id, s.id)
                          AND e.stream = 'direct:' || x.account_id
                          AND e.created_at = now());
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION fedi_stream_notifications_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF fedi_stream_quiet()
       OR NOT EXISTS (SELECT 1 FROM new_notifications) THEN
        RETURN NULL;
    END IF;

    INSERT INTO stream_events (stream, event, object_id)
    SELECT 'user:' || n.account_id, 'notification', n.id
      FROM new_notifications n
      JOIN accounts a ON a.id = n.account_id AND a.domain IS NULL
     ORDER BY n.id;
    RETURN NULL;
END
$$;
