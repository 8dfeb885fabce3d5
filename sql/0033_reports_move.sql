-- Reports (Mastodon's), Flag both ways; Move sent; activities signed by
-- the instance actor.
--
-- A local user's report (POST /api/v1/reports) of a remote account is
-- forwarded, when asked, as a Flag from the instance actor (/actor, as
-- Mastodon's Account.representative: the reporter stays anonymous) to the
-- account's inbox and to the servers of the accounts its reported posts
-- reply to, among forward_to_domains.  A Flag received names our accounts
-- and statuses: a report against each account, from the remote actor.

CREATE TABLE reports (
    id                          bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id                  bigint NOT NULL REFERENCES accounts (id)
                                ON DELETE CASCADE,          -- the reporter
    target_account_id           bigint NOT NULL REFERENCES accounts (id)
                                ON DELETE CASCADE,
    status_ids                  bigint[] NOT NULL DEFAULT '{}',
    rule_ids                    bigint[],
    comment                     text NOT NULL DEFAULT '',
    category                    text NOT NULL DEFAULT 'other'
                                CHECK (category IN ('other', 'spam', 'legal',
                                                    'violation')),
    forwarded                   boolean,
    uri                         text,                       -- a Flag's id
    action_taken_at             timestamptz,
    action_taken_by_account_id  bigint REFERENCES accounts (id)
                                ON DELETE SET NULL,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX reports_account ON reports (account_id);
CREATE INDEX reports_target ON reports (target_account_id);
CREATE INDEX reports_unresolved ON reports (id) WHERE action_taken_at IS NULL;

-- an activity the instance actor signs (a Flag): its key, its key id
ALTER TABLE delivery_activities
    ADD COLUMN by_instance boolean NOT NULL DEFAULT false;


-- A local account's report, as Mastodon's ReportService: (404, message)
-- for a target that is not there or is suspended, or a status that is not
-- the target's or not visible to the reporter; (422, message) for what
-- Report's validations refuse; else (200, the report's id).
-- p_forward_to: the domains to forward to (NULL: the target's).
CREATE FUNCTION fedi_report_create(p_account bigint, p_target bigint,
                                   p_status_ids bigint[], p_comment text,
                                   p_category text, p_rule_ids bigint[],
                                   p_forward boolean, p_forward_to text[])
RETURNS TABLE (code integer, result text)
LANGUAGE plpgsql AS $$
DECLARE
    t           accounts;
    v_category  text;
    v_statuses  bigint[];
    v_to        text[];
    v_forward   boolean;
    v_origin    boolean;
    v_id        bigint;
    v_inboxes   text[];
    v_act       bigint;
BEGIN
    SELECT * INTO t FROM accounts WHERE id = p_target;
    IF NOT FOUND OR t.suspended_at IS NOT NULL THEN
        RETURN QUERY SELECT 404, 'Record not found';
        RETURN;
    END IF;

    p_status_ids := ARRAY(SELECT DISTINCT unnest(coalesce(p_status_ids,
                                                          '{}')));
    v_statuses := ARRAY(SELECT s.id FROM statuses s
                         WHERE s.id = ANY (p_status_ids)
                           AND s.account_id = t.id
                           AND fedi_status_visible(s.id, s.account_id,
                                                   s.visibility, p_account)
                         ORDER BY s.id);
    IF cardinality(v_statuses) <> cardinality(p_status_ids) THEN
        RETURN QUERY SELECT 404, 'Record not found';
        RETURN;
    END IF;

    -- rules given make it a violation (ReportService)
    v_category := CASE WHEN cardinality(p_rule_ids) > 0 THEN 'violation'
                       ELSE coalesce(nullif(p_category, ''), 'other') END;

    IF v_category NOT IN ('other', 'spam', 'legal', 'violation') THEN
        RETURN QUERY SELECT 422, '''' || v_category
                                 || ''' is not a valid category';
        RETURN;
    END IF;

    IF char_length(coalesce(p_comment, '')) > 1000 THEN
        RETURN QUERY SELECT 422, 'Validation failed: Comment is too long'
                                 ' (maximum is 1000 characters)';
        RETURN;
    END IF;

    IF v_category = 'violation'
       AND (p_rule_ids IS NULL
            OR (SELECT count(*) FROM rules WHERE id = ANY (p_rule_ids))
               <> cardinality(ARRAY(SELECT DISTINCT unnest(p_rule_ids))))
    THEN
        RETURN QUERY SELECT 422, 'Validation failed: Rule ids does not'
                                 ' reference valid rules';
        RETURN;
    END IF;

    v_forward := t.domain IS NOT NULL AND coalesce(p_forward, false);
    v_to := ARRAY(SELECT DISTINCT lower(rtrim(btrim(d), '.'))
                    FROM unnest(coalesce(p_forward_to, ARRAY[t.domain])) d
                   WHERE btrim(d) <> '');
    v_origin := v_forward AND lower(t.domain) = ANY (v_to);

    INSERT INTO reports (account_id, target_account_id, status_ids,
                         rule_ids, comment, category, forwarded)
    VALUES (p_account, t.id, v_statuses,
            CASE WHEN v_category = 'violation'
                 THEN ARRAY(SELECT DISTINCT unnest(p_rule_ids)) END,
            coalesce(p_comment, ''), v_category, v_origin)
    RETURNING id INTO v_id;

    IF v_forward THEN
        -- the target's own inbox, and those of the remote accounts the
        -- reported posts reply to, on the domains named
        v_inboxes := CASE WHEN v_origin THEN ARRAY[t.inbox_url]
                          ELSE '{}'::text[] END
            || ARRAY(SELECT coalesce(nullif(a.shared_inbox_url, ''),
                                     a.inbox_url)
                       FROM accounts a
                      WHERE a.domain IS NOT NULL
                        AND lower(a.domain) = ANY (v_to)
                        AND a.suspended_at IS NULL
                        AND coalesce(nullif(a.shared_inbox_url, ''),
                                     a.inbox_url)
                            NOT IN (t.inbox_url, t.shared_inbox_url)
                        AND a.id IN (SELECT s.in_reply_to_account_id
                                       FROM statuses s
                                      WHERE s.id = ANY (v_statuses)));

        v_act := fedi_deliver(p_account, NULL, jsonb_build_object(
                'id', '/flags/' || gen_random_uuid(),
                'type', 'Flag', 'actor', '/actor',
                'content', coalesce(p_comment, ''),
                'object', to_jsonb(ARRAY[t.uri]
                    || ARRAY(SELECT fedi_rel_status(x)
                               FROM unnest(v_statuses) x ORDER BY x))),
            v_inboxes);

        UPDATE delivery_activities SET by_instance = true WHERE id = v_act;
    END IF;

    RETURN QUERY SELECT 200, v_id::text;
END
$$;


-- Flag received: a report against each of our accounts it names, with
-- the statuses of theirs it names (those the reporter's server could
-- see, as Mastodon relaxes it for remote reporters), from the actor;
-- nothing from a domain blocked with reject_reports.  Its id is kept
-- only when on the actor's own host.
CREATE FUNCTION fedi_inbox_flag(p_act inbox_activities, p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_from    accounts;
    v_uris    text[] := fedi_ap_ids(p_act.body -> 'object');
    v_target  bigint;
    v_n       integer := 0;
BEGIN
    SELECT * INTO v_from FROM accounts WHERE id = p_act.account_id;

    IF EXISTS (SELECT 1 FROM fedi_domain_block(lower(v_from.domain)) b
                WHERE b.reject_reports) THEN
        RETURN 'flag: reports from this domain are rejected';
    END IF;

    FOR v_target IN SELECT DISTINCT fedi_local_by_uri(u, p_base)
                      FROM unnest(v_uris) u
                     WHERE fedi_local_by_uri(u, p_base) IS NOT NULL LOOP
        INSERT INTO reports (account_id, target_account_id, status_ids,
                             comment, uri)
        VALUES (v_from.id, v_target,
                ARRAY(SELECT s.id FROM statuses s
                       WHERE s.account_id = v_target
                         AND s.id IN (SELECT fedi_status_by_uri(u, p_base)
                                        FROM unnest(v_uris) u)
                         AND (s.visibility IN ('public', 'unlisted')
                              OR (s.visibility = 'private' AND EXISTS (
                                    SELECT 1 FROM follows f
                                      JOIN accounts fa ON fa.id = f.account_id
                                     WHERE f.target_account_id = v_target
                                       AND lower(fa.domain)
                                           = lower(v_from.domain)))
                              OR EXISTS (SELECT 1 FROM mentions m
                                           JOIN accounts ma
                                             ON ma.id = m.account_id
                                          WHERE m.status_id = s.id
                                            AND lower(ma.domain)
                                                = lower(v_from.domain)))
                       ORDER BY s.id),
                left(coalesce(p_act.body ->> 'content', ''), 5000),
                CASE WHEN fedi_url_host(p_act.uri)
                          = fedi_url_host(v_from.uri) THEN p_act.uri END);
        v_n := v_n + 1;
    END LOOP;

    IF v_n = 0 THEN
        RETURN 'flag: no local account named';
    END IF;

    RETURN 'flag ' || v_n;
END
$$;

-- the inbox's dispatch (sql/0016) with Flag before it
ALTER FUNCTION fedi_inbox_process(inbox_activities, text)
    RENAME TO fedi_inbox_process_unflagged;

CREATE FUNCTION fedi_inbox_process(p_act inbox_activities, p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    IF p_act.body ->> 'type' = 'Flag'
       AND NOT p_act.body ?| ARRAY['@graph', '@included', '@reverse'] THEN
        RETURN fedi_inbox_flag(p_act, p_base);
    END IF;

    RETURN fedi_inbox_process_unflagged(p_act, p_base);
END
$$;


-- A local account moves to p_target (local or remote), which must name
-- it in alsoKnownAs (p_base: our base URL): movedTo set (sql/0017's
-- trigger sends the Update of the actor), Move sent to the followers'
-- servers, and the local followers follow the target instead (a request
-- with its Follow sent when it is remote), as Mastodon's MoveWorker.
-- 'moved N' (local followers moved), or why not.
CREATE FUNCTION fedi_account_move(p_account bigint, p_target bigint,
                                  p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    a        accounts;
    t        accounts;
    v_actor  text;
    v_local  bigint;
    v_n      integer := 0;
BEGIN
    SELECT * INTO a FROM accounts WHERE id = p_account AND domain IS NULL;
    SELECT * INTO t FROM accounts WHERE id = p_target;

    IF a.id IS NULL OR t.id IS NULL OR a.id = t.id THEN
        RETURN 'no such accounts';
    END IF;

    IF t.suspended_at IS NOT NULL OR t.moved_to_account_id IS NOT NULL THEN
        RETURN 'the target is suspended or has moved itself';
    END IF;

    v_actor := p_base || '/users/' || a.username;
    IF NOT (v_actor = ANY (t.also_known_as)) THEN
        RETURN 'the target does not name ' || v_actor
               || ' among its aliases (alsoKnownAs)';
    END IF;

    UPDATE accounts SET moved_to_account_id = t.id, updated_at = now()
     WHERE id = a.id;

    PERFORM fedi_deliver(a.id, NULL, jsonb_build_object(
            'id', '/users/' || a.username || '#moves/'
                  || floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint,
            'type', 'Move', 'actor', '/users/' || a.username,
            'object', '/users/' || a.username,
            'target', fedi_rel_actor(t.id)),
        fedi_follower_inboxes(a.id));

    FOR v_local IN SELECT f.account_id FROM follows f
                     JOIN accounts l ON l.id = f.account_id
                                    AND l.domain IS NULL
                    WHERE f.target_account_id = a.id LOOP
        PERFORM fedi_unfollow(v_local, a.id);
        IF v_local <> t.id
           AND NOT EXISTS (SELECT 1 FROM blocks
                            WHERE (account_id = v_local
                                   AND target_account_id = t.id)
                               OR (account_id = t.id
                                   AND target_account_id = v_local)) THEN
            PERFORM fedi_follow(v_local, t.id, NULL, NULL);
        END IF;
        v_n := v_n + 1;
    END LOOP;

    RETURN 'moved ' || v_n;
END
$$;


-- An account's move, for the API: the account it moved to as the first
-- 26 columns of FEDI_ACCOUNT_COLS (ngx_fedi_module/fedi_sql_cols.h, the
-- same order) in a JSON array.  PL/pgSQL, and cheap to the planner, so
-- that the column costs nothing in plans of accounts that did not move.
CREATE FUNCTION fedi_account_moved(p_id bigint)
RETURNS text
LANGUAGE plpgsql STABLE COST 10 AS $$
BEGIN
    RETURN (SELECT json_build_array(
                m.id, m.username, m.domain, m.display_name, m.note, m.url,
                m.uri, m.locked, m.actor_type = 'Service',
                m.actor_type = 'Group', m.discoverable, m.indexable,
                m.hide_collections, m.memorial,
                to_char(m.created_at AT TIME ZONE 'UTC',
                        'YYYY-MM-DD"T00:00:00.000Z"'),
                to_char(m.last_status_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                m.followers_count, m.following_count, m.statuses_count,
                m.fields::text, m.avatar_file, m.avatar_remote_url,
                m.header_file, m.header_remote_url,
                m.suspended_at IS NOT NULL, m.silenced_at IS NOT NULL)::text
              FROM accounts m WHERE m.id = p_id);
END
$$;
