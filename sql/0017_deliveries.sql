-- Federation out: the delivery queue (outbox pattern).
--
-- Every local action other servers must learn about inserts its activity
-- and one delivery per inbox in the same transaction as the action
-- (triggers below), so nothing acknowledged is lost.  The delivery
-- process of every nginx node (fedi_deliver.c) claims due deliveries with
-- FOR UPDATE SKIP LOCKED and a lease, is woken by NOTIFY fedi_deliver,
-- POSTs them signed and reports each outcome to fedi_delivery_done().
--
-- Activities are stored with the local URIs relative to the instance's
-- base URL ("/users/alice/statuses/1"): the database does not know the
-- base URL, the delivery process puts it in front of every string of the
-- payload that starts with "/".  Create and Update of a status keep only
-- their type and id here: the Note is rendered from the status row when
-- it is sent (by the same serializer that answers GET).  Everything else
-- (Delete with its Tombstone, Undo, Accept ...) is whole here, so it
-- survives its source row.

CREATE TABLE delivery_activities (
    id          bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id   bigint REFERENCES statuses (id) ON DELETE SET NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX delivery_activities_account ON delivery_activities (account_id);

CREATE TABLE deliveries (
    id               bigint PRIMARY KEY DEFAULT fedi_id(),
    activity_id      bigint NOT NULL REFERENCES delivery_activities (id)
                     ON DELETE CASCADE,
    inbox            text NOT NULL,
    domain           text NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    locked_until     timestamptz,
    locked_by        text,           -- "host:pid" of the claiming process
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (activity_id, inbox)
);

CREATE INDEX deliveries_due ON deliveries (next_attempt_at);
CREATE INDEX deliveries_domain ON deliveries (domain);
CREATE INDEX deliveries_locked_by ON deliveries (locked_by)
    WHERE locked_by IS NOT NULL;

-- Mastodon's DeliveryFailureTracker: the days a domain failed; seven
-- different days make it unavailable, and nothing is sent to it until it
-- answers a delivery or sends us an activity (or an operator retries it)
CREATE TABLE delivery_domains (
    domain        text PRIMARY KEY,
    failure_days  date[] NOT NULL DEFAULT '{}',
    unavailable   boolean NOT NULL DEFAULT false,
    last_error    text,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- the host of an https URL, lower case, without port or trailing dot
CREATE FUNCTION fedi_url_domain(p_url text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT rtrim(lower(split_part(split_part(split_part(substr(p_url, 9),
                 '/', 1), '?', 1), ':', 1)), '.')
$$;

-- the actor and status URIs of our activities: local ones relative to
-- the base URL
CREATE FUNCTION fedi_rel_actor(p_account bigint)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN domain IS NULL THEN '/users/' || username ELSE uri END
      FROM accounts WHERE id = p_account
$$;

CREATE FUNCTION fedi_rel_status(p_status bigint)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(s.uri, '/users/' || a.username || '/statuses/' || s.id)
      FROM statuses s JOIN accounts a ON a.id = s.account_id
     WHERE s.id = p_status
$$;

-- the inbox a server wants for an account: its shared inbox if it has one
CREATE FUNCTION fedi_account_inboxes(p_accounts bigint[])
RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT coalesce(nullif(a.shared_inbox_url,
                                                       ''), a.inbox_url)),
                    '{}')
      FROM accounts a
     WHERE a.id = ANY (p_accounts) AND a.domain IS NOT NULL
       AND a.suspended_at IS NULL AND a.inbox_url <> ''
$$;

-- Whether a follower is remote, on the follow itself: every local post
-- looks up its author's remote followers, and an index of those alone
-- finds none at once for the many accounts that have no remote follower
-- (instead of visiting each local follower's account)
ALTER TABLE follows ADD COLUMN remote boolean NOT NULL DEFAULT false;

UPDATE follows f SET remote = true
  FROM accounts a WHERE a.id = f.account_id AND a.domain IS NOT NULL;

CREATE INDEX follows_remote ON follows (target_account_id, account_id)
    WHERE remote;

CREATE FUNCTION fedi_follow_remote() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.remote := EXISTS (SELECT 1 FROM accounts WHERE id = NEW.account_id
                          AND domain IS NOT NULL);
    RETURN NEW;
END
$$;

CREATE TRIGGER follows_remote BEFORE INSERT ON follows
    FOR EACH ROW EXECUTE FUNCTION fedi_follow_remote();

-- the inboxes of an account's remote followers, each server's once
CREATE FUNCTION fedi_follower_inboxes(p_account bigint)
RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT coalesce(nullif(a.shared_inbox_url,
                                                       ''), a.inbox_url)),
                    '{}')
      FROM follows f JOIN accounts a ON a.id = f.account_id
     WHERE f.target_account_id = p_account AND f.remote
       AND a.domain IS NOT NULL
       AND a.suspended_at IS NULL AND a.inbox_url <> ''
$$;

-- who must learn about a status, as Mastodon's StatusReachFinder: the
-- mentioned (direct: only them), the followers unless direct, and the
-- author of the status replied to
CREATE FUNCTION fedi_status_inboxes(p_status bigint)
RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT fedi_account_inboxes(
               array(SELECT m.account_id FROM mentions m
                      WHERE m.status_id = s.id)
               || CASE WHEN s.visibility <> 'direct'
                            AND s.in_reply_to_account_id IS NOT NULL
                       THEN ARRAY[s.in_reply_to_account_id]
                       ELSE '{}'::bigint[] END)
           || CASE WHEN s.visibility = 'direct' THEN '{}'::text[]
                   ELSE fedi_follower_inboxes(s.account_id) END
      FROM statuses s WHERE s.id = p_status
$$;

-- Queue one activity of the local p_account for p_inboxes (de-duplicated;
-- unavailable and suspended domains left out).  The activity's id, or
-- NULL when there is no one to send it to.
CREATE FUNCTION fedi_deliver(p_account bigint, p_status bigint,
                             p_payload jsonb, p_inboxes text[])
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_inboxes IS NULL OR cardinality(p_inboxes) = 0
       OR NOT EXISTS (SELECT 1 FROM accounts WHERE id = p_account
                      AND domain IS NULL)
    THEN
        RETURN NULL;
    END IF;

    INSERT INTO delivery_activities (account_id, status_id, payload)
    VALUES (p_account, p_status, p_payload)
    RETURNING id INTO v_id;

    INSERT INTO deliveries (activity_id, inbox, domain)
    SELECT v_id, i, fedi_url_domain(i)
      FROM (SELECT DISTINCT i FROM unnest(p_inboxes) i
             WHERE i LIKE 'https://%') x
     WHERE NOT EXISTS (SELECT 1 FROM delivery_domains d
                        WHERE d.domain = fedi_url_domain(x.i)
                          AND d.unavailable)
       AND NOT EXISTS (SELECT 1 FROM fedi_domain_block(fedi_url_domain(x.i)) b
                        WHERE b.severity = 'suspend')
    ON CONFLICT DO NOTHING;

    IF NOT FOUND THEN
        DELETE FROM delivery_activities WHERE id = v_id;
        RETURN NULL;
    END IF;

    PERFORM pg_notify('fedi_deliver', '');

    RETURN v_id;
END
$$;


-- ---- what is sent, and when ----

-- Whether a local status reaches another server at all: most reach none,
-- and this finds it out with three index probes (plans cached, unlike the
-- SQL functions that compute the audience)
CREATE FUNCTION fedi_status_goes_out(s statuses)
RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN s.uri IS NULL AND (
        (s.visibility <> 'direct'
         AND EXISTS (SELECT 1 FROM follows f
                      WHERE f.target_account_id = s.account_id AND f.remote))
        OR EXISTS (SELECT 1 FROM mentions m JOIN accounts a
                     ON a.id = m.account_id
                    WHERE m.status_id = s.id AND a.domain IS NOT NULL)
        OR EXISTS (SELECT 1 FROM accounts a
                    WHERE a.domain IS NOT NULL
                      AND (a.id = s.in_reply_to_account_id
                           OR a.id = (SELECT r.account_id FROM statuses r
                                       WHERE r.id = s.reblog_of_id))));
END
$$;

-- a local status: Create when the transaction that wrote it (and its
-- mentions) commits, Update when it was edited; a reblog: Announce
CREATE FUNCTION fedi_status_out() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    s        statuses;
    v_actor  text;
    v_uri    text;
    v_of     statuses;
BEGIN
    SELECT * INTO s FROM statuses WHERE id = NEW.id;
    IF NOT FOUND OR s.deleted_at IS NOT NULL OR NOT fedi_status_goes_out(s)
    THEN
        RETURN NULL;
    END IF;

    v_actor := fedi_rel_actor(s.account_id);
    IF v_actor LIKE 'http%' THEN
        RETURN NULL;                    -- a remote account's status
    END IF;

    v_uri := fedi_rel_status(s.id);

    IF s.reblog_of_id IS NOT NULL THEN
        IF TG_OP <> 'INSERT' THEN
            RETURN NULL;
        END IF;
        SELECT * INTO v_of FROM statuses WHERE id = s.reblog_of_id;
        PERFORM fedi_deliver(s.account_id, NULL, jsonb_build_object(
                'id', v_uri || '/activity', 'type', 'Announce',
                'actor', v_actor,
                'published', to_char(s.created_at AT TIME ZONE 'UTC',
                                     'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                'to', jsonb_build_array(
                    'https://www.w3.org/ns/activitystreams#Public'),
                'cc', jsonb_build_array(fedi_rel_actor(v_of.account_id),
                                        v_actor || '/followers'),
                'object', fedi_rel_status(v_of.id)),
            fedi_follower_inboxes(s.account_id)
            || fedi_account_inboxes(ARRAY[v_of.account_id]));
        RETURN NULL;
    END IF;

    IF TG_OP = 'INSERT' THEN
        PERFORM fedi_deliver(s.account_id, s.id, jsonb_build_object(
                'id', v_uri || '/activity', 'type', 'Create'),
            fedi_status_inboxes(s.id));
    ELSIF s.edited_at IS NOT NULL THEN
        PERFORM fedi_deliver(s.account_id, s.id, jsonb_build_object(
                'id', v_uri || '#updates/'
                      || floor(extract(epoch FROM s.edited_at))::bigint,
                'type', 'Update'),
            fedi_status_inboxes(s.id));
    END IF;

    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER statuses_out AFTER INSERT ON statuses
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fedi_status_out();

CREATE CONSTRAINT TRIGGER statuses_edit_out AFTER UPDATE OF edited_at
    ON statuses DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.edited_at IS DISTINCT FROM OLD.edited_at
                       AND NEW.deleted_at IS NULL)
    EXECUTE FUNCTION fedi_status_out();

-- a local status deleted: Delete with a Tombstone, to everyone who got
-- it; a reblog taken back: Undo of the Announce
CREATE FUNCTION fedi_status_deleted_out() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_actor text;
    v_uri   text;
    v_of    statuses;
BEGIN
    IF NOT fedi_status_goes_out(NEW) THEN
        RETURN NULL;
    END IF;

    v_actor := fedi_rel_actor(NEW.account_id);
    v_uri := fedi_rel_status(NEW.id);

    IF v_actor LIKE 'http%' THEN
        RETURN NULL;
    END IF;

    IF NEW.reblog_of_id IS NOT NULL THEN
        SELECT * INTO v_of FROM statuses WHERE id = NEW.reblog_of_id;
        PERFORM fedi_deliver(NEW.account_id, NULL, jsonb_build_object(
                'id', v_uri || '#announces/undo', 'type', 'Undo',
                'actor', v_actor,
                'to', jsonb_build_array(
                    'https://www.w3.org/ns/activitystreams#Public'),
                'object', jsonb_build_object(
                    'id', v_uri || '/activity', 'type', 'Announce',
                    'actor', v_actor,
                    'to', jsonb_build_array(
                        'https://www.w3.org/ns/activitystreams#Public'),
                    'cc', jsonb_build_array(fedi_rel_actor(v_of.account_id),
                                            v_actor || '/followers'),
                    'object', fedi_rel_status(v_of.id))),
            fedi_follower_inboxes(NEW.account_id)
            || fedi_account_inboxes(ARRAY[v_of.account_id]));
        RETURN NULL;
    END IF;

    PERFORM fedi_deliver(NEW.account_id, NULL, jsonb_build_object(
            'id', v_uri || '#delete', 'type', 'Delete', 'actor', v_actor,
            'to', jsonb_build_array(
                'https://www.w3.org/ns/activitystreams#Public'),
            'object', jsonb_build_object('id', v_uri, 'type', 'Tombstone',
                                         'atomUri', v_uri)),
        fedi_status_inboxes(NEW.id));

    RETURN NULL;
END
$$;

CREATE TRIGGER statuses_deleted_out AFTER UPDATE OF deleted_at ON statuses
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION fedi_status_deleted_out();

-- a favourite of a remote status: Like to its author; taken back: Undo
CREATE FUNCTION fedi_favourite_out() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    f        favourites;
    v_actor  text;
    v_author bigint;
    v_like   jsonb;
BEGIN
    f := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;

    -- a remote status's author, or nothing to say
    SELECT s.account_id INTO v_author FROM statuses s
      JOIN accounts a ON a.id = s.account_id
     WHERE s.id = f.status_id AND a.domain IS NOT NULL;

    IF v_author IS NULL THEN
        RETURN NULL;
    END IF;

    v_actor := fedi_rel_actor(f.account_id);

    IF v_actor LIKE 'http%' THEN
        RETURN NULL;
    END IF;

    v_like := jsonb_build_object('id', v_actor || '#likes/' || f.id,
                                 'type', 'Like', 'actor', v_actor,
                                 'object', fedi_rel_status(f.status_id));

    IF TG_OP = 'INSERT' THEN
        PERFORM fedi_deliver(f.account_id, NULL, v_like,
                             fedi_account_inboxes(ARRAY[v_author]));
    ELSE
        PERFORM fedi_deliver(f.account_id, NULL, jsonb_build_object(
                'id', v_actor || '#likes/' || f.id || '/undo',
                'type', 'Undo', 'actor', v_actor, 'object', v_like),
            fedi_account_inboxes(ARRAY[v_author]));
    END IF;

    RETURN NULL;
END
$$;

CREATE TRIGGER favourites_out AFTER INSERT OR DELETE ON favourites
    FOR EACH ROW EXECUTE FUNCTION fedi_favourite_out();

-- a block of a remote account: Block; lifted: Undo
CREATE FUNCTION fedi_block_out() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    b        blocks;
    v_actor  text;
    v_block  jsonb;
BEGIN
    b := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    v_actor := fedi_rel_actor(b.account_id);

    IF v_actor LIKE 'http%' THEN
        RETURN NULL;
    END IF;

    v_block := jsonb_build_object(
        'id', coalesce(b.uri, v_actor || '#blocks/' || b.id),
        'type', 'Block', 'actor', v_actor,
        'object', fedi_rel_actor(b.target_account_id));

    IF TG_OP = 'INSERT' THEN
        PERFORM fedi_deliver(b.account_id, NULL, v_block,
                             fedi_account_inboxes(ARRAY[b.target_account_id]));
    ELSE
        PERFORM fedi_deliver(b.account_id, NULL, jsonb_build_object(
                'id', v_actor || '#blocks/' || b.id || '/undo',
                'type', 'Undo', 'actor', v_actor, 'object', v_block),
            fedi_account_inboxes(ARRAY[b.target_account_id]));
    END IF;

    RETURN NULL;
END
$$;

CREATE TRIGGER blocks_out AFTER INSERT OR DELETE ON blocks
    FOR EACH ROW EXECUTE FUNCTION fedi_block_out();

-- a local account's profile changed (what its actor document shows):
-- Update of the actor to its followers' servers; the document is
-- rendered when it is sent, as GET answers it
CREATE FUNCTION fedi_account_out() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fedi_deliver(NEW.id, NULL, jsonb_build_object(
            'id', '/users/' || NEW.username || '#updates/'
                  || floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint,
            'type', 'Update', 'actor', '/users/' || NEW.username,
            'to', jsonb_build_array(
                'https://www.w3.org/ns/activitystreams#Public')),
        fedi_follower_inboxes(NEW.id));
    RETURN NULL;
END
$$;

CREATE TRIGGER accounts_out AFTER UPDATE ON accounts
    FOR EACH ROW WHEN (NEW.domain IS NULL AND NEW.suspended_at IS NULL
        AND (NEW.display_name, NEW.note, NEW.fields, NEW.avatar_file,
             NEW.header_file, NEW.locked, NEW.discoverable, NEW.indexable,
             NEW.actor_type, NEW.public_key, NEW.also_known_as,
             NEW.moved_to_account_id, NEW.memorial, NEW.hide_collections)
            IS DISTINCT FROM
            (OLD.display_name, OLD.note, OLD.fields, OLD.avatar_file,
             OLD.header_file, OLD.locked, OLD.discoverable, OLD.indexable,
             OLD.actor_type, OLD.public_key, OLD.also_known_as,
             OLD.moved_to_account_id, OLD.memorial, OLD.hide_collections))
    EXECUTE FUNCTION fedi_account_out();

-- the Follow of p_account (local) to p_target (remote), as sent
CREATE FUNCTION fedi_follow_activity(p_uri text, p_id bigint,
                                     p_account bigint, p_target bigint)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', coalesce(p_uri, fedi_rel_actor(p_account) || '#follows/'
                              || p_id),
        'type', 'Follow', 'actor', fedi_rel_actor(p_account),
        'object', fedi_rel_actor(p_target))
$$;

-- a remote account now follows a local one (its Follow processed, or
-- its request authorized): Accept, once the transaction has set the
-- Follow's id
CREATE FUNCTION fedi_follow_accept_out() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    f follows;
BEGIN
    -- without the Follow's id there is nothing to accept
    SELECT * INTO f FROM follows WHERE id = NEW.id;
    IF NOT FOUND OR f.uri IS NULL
       OR NOT EXISTS (SELECT 1 FROM accounts WHERE id = f.account_id
                      AND domain IS NOT NULL)
       OR NOT EXISTS (SELECT 1 FROM accounts WHERE id = f.target_account_id
                      AND domain IS NULL)
    THEN
        RETURN NULL;
    END IF;

    PERFORM fedi_deliver(f.target_account_id, NULL, jsonb_build_object(
            'id', fedi_rel_actor(f.target_account_id) || '#accepts/follows/'
                  || f.id,
            'type', 'Accept', 'actor', fedi_rel_actor(f.target_account_id),
            'object', jsonb_build_object(
                'id', f.uri, 'type', 'Follow',
                'actor', fedi_rel_actor(f.account_id),
                'object', fedi_rel_actor(f.target_account_id))),
        fedi_account_inboxes(ARRAY[f.account_id]));

    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER follows_accept_out AFTER INSERT ON follows
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION fedi_follow_accept_out();


-- Following: a remote account is followed by request, its Follow sent,
-- until its Accept arrives (what fedi_follow() does for local accounts
-- otherwise, unchanged)
ALTER FUNCTION fedi_follow(bigint, bigint, boolean, boolean)
    RENAME TO fedi_follow_local;

CREATE FUNCTION fedi_follow(p_account bigint, p_target bigint,
                            p_reblogs boolean, p_notify boolean)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_id   bigint;
    v_base text := (SELECT value #>> '{}' FROM settings
                     WHERE key = 'base_url');
BEGIN
    IF EXISTS (SELECT 1 FROM accounts WHERE id = p_account
               AND domain IS NOT NULL)
       OR NOT EXISTS (SELECT 1 FROM accounts WHERE id = p_target
                      AND domain IS NOT NULL)
       OR EXISTS (SELECT 1 FROM follows WHERE account_id = p_account
                  AND target_account_id = p_target)
    THEN
        RETURN fedi_follow_local(p_account, p_target, p_reblogs, p_notify);
    END IF;

    INSERT INTO follow_requests (account_id, target_account_id,
                                 show_reblogs, notify)
    VALUES (p_account, p_target, coalesce(p_reblogs, true),
            coalesce(p_notify, false))
    ON CONFLICT (account_id, target_account_id) DO UPDATE
       SET show_reblogs = coalesce(p_reblogs, follow_requests.show_reblogs),
           notify = coalesce(p_notify, follow_requests.notify)
    RETURNING id INTO v_id;

    UPDATE follow_requests
       SET uri = coalesce(uri, v_base || fedi_rel_actor(p_account)
                               || '#follows/' || id)
     WHERE id = v_id AND uri IS NULL AND v_base IS NOT NULL;

    IF NOT EXISTS (SELECT 1 FROM delivery_activities
                    WHERE account_id = p_account
                      AND payload ->> 'type' = 'Follow'
                      AND payload ->> 'object' = fedi_rel_actor(p_target))
    THEN
        PERFORM fedi_deliver(p_account, NULL,
                             fedi_follow_activity(r.uri, r.id, p_account,
                                                  p_target),
                             fedi_account_inboxes(ARRAY[p_target]))
           FROM follow_requests r WHERE r.id = v_id;
    END IF;

    RETURN 'requested';
END
$$;

-- Unfollowing a remote account (or taking back the request): Undo of
-- the Follow
ALTER FUNCTION fedi_unfollow(bigint, bigint) RENAME TO fedi_unfollow_local;

CREATE FUNCTION fedi_unfollow(p_account bigint, p_target bigint)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_uri text;
    v_id  bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM accounts WHERE id = p_account
               AND domain IS NULL)
       AND EXISTS (SELECT 1 FROM accounts WHERE id = p_target
                   AND domain IS NOT NULL)
    THEN
        SELECT uri, id INTO v_uri, v_id FROM follows
         WHERE account_id = p_account AND target_account_id = p_target;
        IF NOT FOUND THEN
            SELECT uri, id INTO v_uri, v_id FROM follow_requests
             WHERE account_id = p_account AND target_account_id = p_target;
        END IF;
        IF v_id IS NOT NULL THEN
            PERFORM fedi_deliver(p_account, NULL, jsonb_build_object(
                    'id', fedi_rel_actor(p_account) || '#follows/' || v_id
                          || '/undo',
                    'type', 'Undo', 'actor', fedi_rel_actor(p_account),
                    'object', fedi_follow_activity(v_uri, v_id, p_account,
                                                   p_target)),
                fedi_account_inboxes(ARRAY[p_target]));
        END IF;
    END IF;

    PERFORM fedi_unfollow_local(p_account, p_target);
END
$$;

-- A request authorized carries the Follow's id over to the follow (the
-- Accept names it); a remote account's request rejected: Reject
ALTER FUNCTION fedi_follow_request(bigint, bigint, boolean)
    RENAME TO fedi_follow_request_local;

CREATE FUNCTION fedi_follow_request(p_account bigint, p_from bigint,
                                    p_accept boolean)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    r  follow_requests;
    ok boolean;
BEGIN
    SELECT * INTO r FROM follow_requests
     WHERE account_id = p_from AND target_account_id = p_account;

    ok := fedi_follow_request_local(p_account, p_from, p_accept);

    IF NOT ok OR r.id IS NULL THEN
        RETURN ok;
    END IF;

    IF p_accept THEN
        UPDATE follows SET uri = coalesce(uri, r.uri)
         WHERE account_id = p_from AND target_account_id = p_account;
    ELSE
        PERFORM fedi_deliver(p_account, NULL, jsonb_build_object(
                'id', fedi_rel_actor(p_account) || '#rejects/follows/'
                      || r.id,
                'type', 'Reject', 'actor', fedi_rel_actor(p_account),
                'object', jsonb_build_object(
                    'id', r.uri, 'type', 'Follow',
                    'actor', fedi_rel_actor(p_from),
                    'object', fedi_rel_actor(p_account))),
            fedi_account_inboxes(ARRAY[p_from]));
    END IF;

    RETURN ok;
END
$$;


-- ---- the delivery process's side ----

-- Claim up to p_limit due deliveries for process p_by, at most
-- p_per_domain of one domain (a dead server holds few), none of the
-- domains in p_busy (this process has enough of theirs already); the
-- lease: p_lease seconds
CREATE FUNCTION fedi_delivery_claim(p_limit integer, p_per_domain integer,
                                    p_by text, p_busy text[],
                                    p_lease integer)
RETURNS TABLE (id bigint, activity_id bigint, inbox text, attempts integer)
LANGUAGE sql AS $$
    WITH cand AS (
        SELECT d.id, d.domain FROM deliveries d
         WHERE d.next_attempt_at <= now()
           AND (d.locked_until IS NULL OR d.locked_until < now())
           AND d.domain <> ALL (p_busy)
         ORDER BY d.next_attempt_at
         LIMIT p_limit * 4
           FOR UPDATE SKIP LOCKED),
    pick AS (
        SELECT x.id FROM (
            SELECT c.id, row_number() OVER (PARTITION BY c.domain
                                            ORDER BY c.id) AS n
              FROM cand c) x
         WHERE x.n <= p_per_domain
         LIMIT p_limit)
    UPDATE deliveries d
       SET locked_until = now() + make_interval(secs => p_lease),
           locked_by = p_by, attempts = d.attempts + 1
      FROM pick
     WHERE d.id = pick.id
    RETURNING d.id, d.activity_id, d.inbox, d.attempts
$$;

-- Leases of processes of this host (p_host) that are gone (p_pids
-- alive: the ones to keep), given back at once rather than when they
-- expire
CREATE FUNCTION fedi_delivery_release(p_host text, p_alive text[])
RETURNS integer
LANGUAGE sql AS $$
    WITH r AS (
        UPDATE deliveries SET locked_until = NULL, locked_by = NULL
         WHERE locked_by LIKE p_host || ':%'
           AND locked_by <> ALL (p_alive)
        RETURNING 1)
    SELECT count(*)::integer FROM r
$$;

-- the claimants of this host, so the process can see which are alive
CREATE FUNCTION fedi_delivery_holders(p_host text)
RETURNS SETOF text
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT locked_by FROM deliveries
     WHERE locked_by LIKE p_host || ':%'
$$;

-- a domain did not answer as it should today
CREATE FUNCTION fedi_delivery_domain_failed(p_domain text, p_error text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_domains (domain, failure_days, last_error)
    VALUES (p_domain, ARRAY[current_date], p_error)
    ON CONFLICT (domain) DO UPDATE
       SET failure_days = CASE WHEN current_date
                                    = ANY (delivery_domains.failure_days)
                               THEN delivery_domains.failure_days
                               ELSE delivery_domains.failure_days
                                    || current_date END,
           last_error = p_error, updated_at = now();

    UPDATE delivery_domains SET unavailable = true
     WHERE domain = p_domain AND NOT unavailable
       AND cardinality(failure_days) >= 7;

    IF FOUND THEN
        DELETE FROM deliveries WHERE domain = p_domain
           AND (locked_until IS NULL OR locked_until < now());
    END IF;
END
$$;

-- The outcome of delivery p_id by process p_by: p_status the HTTP status
-- (0: no answer), p_retry_after the seconds a 429 asked for.  2xx:
-- done; 429, 5xx, no answer: again after attempts^4 + 15 + jitter
-- seconds (Sidekiq's backoff, as Mastodon), at most 16 attempts; other
-- 4xx: given up (410 from an actor's own inbox: that follower is gone).
CREATE FUNCTION fedi_delivery_done(p_id bigint, p_by text, p_status integer,
                                   p_retry_after integer, p_error text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    d       deliveries;
    v_out   text;
    v_delay double precision;
BEGIN
    SELECT * INTO d FROM deliveries WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR d.locked_by IS DISTINCT FROM p_by THEN
        RETURN 'lease lost';
    END IF;

    IF p_status BETWEEN 200 AND 299
       OR (p_status BETWEEN 400 AND 499 AND p_status NOT IN (408, 429))
    THEN
        DELETE FROM deliveries WHERE id = p_id;
        DELETE FROM delivery_domains WHERE domain = d.domain;

        IF p_status = 410 THEN
            PERFORM fedi_unfollow_local(a.id, x.account_id)
               FROM accounts a, delivery_activities x
              WHERE a.inbox_url = d.inbox AND a.domain IS NOT NULL
                AND x.id = d.activity_id
                AND EXISTS (SELECT 1 FROM follows f
                             WHERE f.account_id = a.id
                               AND f.target_account_id = x.account_id);
        END IF;

        v_out := CASE WHEN p_status < 300 THEN 'delivered' ELSE 'refused' END;

    ELSE
        PERFORM fedi_delivery_domain_failed(d.domain, p_error);

        IF d.attempts >= 16
           OR EXISTS (SELECT 1 FROM delivery_domains
                       WHERE domain = d.domain AND unavailable)
        THEN
            DELETE FROM deliveries WHERE id = p_id;
            v_out := 'gave up';
        ELSE
            v_delay := CASE WHEN p_status = 429 AND p_retry_after IS NOT NULL
                            THEN greatest(p_retry_after, 1)
                            ELSE power(d.attempts - 1, 4) + 15
                                 + floor(random() * 10) * d.attempts END;
            UPDATE deliveries
               SET locked_until = NULL, locked_by = NULL,
                   last_status = nullif(p_status, 0), last_error = p_error,
                   next_attempt_at = now() + make_interval(secs => v_delay)
             WHERE id = p_id;
            v_out := 'retry';
        END IF;
    END IF;

    DELETE FROM delivery_activities x WHERE x.id = d.activity_id
       AND NOT EXISTS (SELECT 1 FROM deliveries y
                        WHERE y.activity_id = d.activity_id);

    RETURN v_out;
END
$$;

-- a server that sends us an activity talks to us again
CREATE FUNCTION fedi_inbox_domain_back() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM delivery_domains
     WHERE domain = (SELECT lower(domain) FROM accounts
                      WHERE id = NEW.account_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER inbox_domain_back AFTER INSERT ON inbox_activities
    FOR EACH ROW EXECUTE FUNCTION fedi_inbox_domain_back();
