-- The inbox: activities verified (HTTP Signatures, by the workers) are
-- stored here before the 202, once each by their id, and processed in
-- the background (fedi_inbox_run, woken by NOTIFY fedi_inbox).

CREATE TABLE inbox_activities (
    id            bigint PRIMARY KEY DEFAULT fedi_id(),
    uri           text UNIQUE,               -- the activity's id
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    body          jsonb NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz,
    outcome       text
);

CREATE INDEX inbox_activities_pending ON inbox_activities (id)
    WHERE processed_at IS NULL;

-- the URI of an object given by value or by reference
CREATE FUNCTION fedi_ap_id(p jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(p) WHEN 'string' THEN p #>> '{}'
                                WHEN 'object' THEN p ->> 'id' END
$$;

-- a local account by its actor URI (p_base: the instance's base URL)
CREATE FUNCTION fedi_local_by_uri(p_uri text, p_base text)
RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT id FROM accounts
     WHERE domain IS NULL AND suspended_at IS NULL
       AND p_uri LIKE p_base || '/users/%'
       AND lower(username) = lower(substr(p_uri, length(p_base) + 8))
$$;

-- store a verified activity (p_account: the signer, who is its actor):
-- its id, or NULL when it was here already
CREATE FUNCTION fedi_inbox_store(p_uri text, p_account bigint,
                                 p_body jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO inbox_activities (uri, account_id, body)
    VALUES (p_uri, p_account, p_body)
    ON CONFLICT (uri) DO NOTHING
    RETURNING id INTO v_id;

    IF v_id IS NOT NULL THEN
        PERFORM pg_notify('fedi_inbox', '');
    END IF;

    RETURN v_id;
END
$$;

-- one activity: what was done with it
CREATE FUNCTION fedi_inbox_process(p_act inbox_activities, p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_type   text := p_act.body ->> 'type';
    v_object jsonb := p_act.body -> 'object';
    v_target bigint;
BEGIN
    IF v_type = 'Follow' THEN
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
    END IF;

    IF v_type = 'Undo' AND (jsonb_typeof(v_object) = 'string'
                            OR v_object ->> 'type' = 'Follow') THEN
        -- by the Follow's id, or by its object when given by value
        SELECT target_account_id INTO v_target FROM follows
         WHERE account_id = p_act.account_id
           AND uri = fedi_ap_id(v_object);
        IF v_target IS NULL THEN
            SELECT target_account_id INTO v_target FROM follow_requests
             WHERE account_id = p_act.account_id
               AND uri = fedi_ap_id(v_object);
        END IF;
        IF v_target IS NULL AND jsonb_typeof(v_object) = 'object' THEN
            v_target := fedi_local_by_uri(fedi_ap_id(v_object -> 'object'),
                                          p_base);
        END IF;
        IF v_target IS NULL THEN
            RETURN 'undo: nothing to undo';
        END IF;
        PERFORM fedi_unfollow(p_act.account_id, v_target);
        RETURN 'undo follow';
    END IF;

    RETURN 'ignored: ' || coalesce(v_type, 'no type');
END
$$;

-- the background processing: up to p_limit activities, oldest first,
-- shared out between workers and nodes; the number done
CREATE FUNCTION fedi_inbox_run(p_limit integer, p_base text)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_act inbox_activities;
    v_n   integer := 0;
BEGIN
    FOR v_act IN SELECT * FROM inbox_activities
                  WHERE processed_at IS NULL
                  ORDER BY id LIMIT p_limit
                  FOR UPDATE SKIP LOCKED
    LOOP
        UPDATE inbox_activities
           SET processed_at = now(),
               outcome = fedi_inbox_process(v_act, p_base)
         WHERE id = v_act.id;
        v_n := v_n + 1;
    END LOOP;

    RETURN v_n;
END
$$;
