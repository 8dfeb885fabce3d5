-- The inbox answers 202 before fetching (issue 5): an activity whose
-- object must come from its origin (a Create or an Update by reference or
-- from another host, an Announce of a status we do not hold, a Move's
-- target) is stored at once with object_pending, and the workers'
-- background fetcher (ap_inbox_fetch.c) claims it with a lease, applies
-- the same origin rules as before (ap_inbox_object.c), and writes the
-- object it prepared, or none with the reason (object_error).  Only then
-- does the processing (fedi_inbox_run) take the row, and the actor's
-- activities that came after it wait for it: an actor's activities are
-- processed in the order they came (a Delete or an Update of a status
-- must not pass the Create still fetching it).  A network failure
-- is tried again with backoff a few times; a worker that dies mid-fetch
-- leaves a lease that expires.

ALTER TABLE inbox_activities
    ADD COLUMN object_pending  boolean NOT NULL DEFAULT false,
    ADD COLUMN object_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN object_due      timestamptz,    -- claimable from then on
    ADD COLUMN object_error    text;           -- why no object

-- processing never sees a pending row
DROP INDEX inbox_activities_pending;
CREATE INDEX inbox_activities_pending ON inbox_activities (id)
    WHERE processed_at IS NULL AND NOT object_pending;

CREATE INDEX inbox_activities_object_due ON inbox_activities (object_due)
    WHERE object_pending;

CREATE INDEX inbox_activities_object_actor
    ON inbox_activities (account_id, id) WHERE object_pending;

-- store a verified activity whose object is still to be fetched: its id,
-- or NULL when it was here already (the fetcher is woken)
CREATE FUNCTION fedi_inbox_store_pending(p_uri text, p_account bigint,
                                         p_body jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO inbox_activities (uri, account_id, body, object_pending,
                                  object_due)
    VALUES (p_uri, p_account, p_body, true, now())
    ON CONFLICT (uri) DO NOTHING
    RETURNING id INTO v_id;

    IF v_id IS NOT NULL THEN
        PERFORM pg_notify('fedi_inbox', 'fetch');
    END IF;

    RETURN v_id;
END
$$;

-- the object's fate settled: p_object as prepared, or NULL with p_error
-- (the processing then drops the activity as before); processing woken
CREATE FUNCTION fedi_inbox_fetch_done(p_id bigint, p_object jsonb,
                                      p_error text)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE inbox_activities
       SET object = p_object, object_error = p_error,
           object_pending = false, object_due = NULL
     WHERE id = p_id AND object_pending;

    IF NOT FOUND THEN
        RETURN false;
    END IF;

    PERFORM pg_notify('fedi_inbox', '');
    RETURN true;
END
$$;

-- up to p_limit pending activities, each to one worker of one node for
-- p_lease seconds; one whose attempts are spent (its last lease expired
-- too) is given up first.  The activity's actor comes from the body,
-- which the inbox checked was the signer.
CREATE FUNCTION fedi_inbox_fetch_claim(p_limit integer, p_lease integer,
                                       p_attempts integer)
RETURNS TABLE (id bigint, body jsonb, actor text, attempts integer)
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    FOR v_id IN SELECT x.id FROM inbox_activities x
                 WHERE x.object_pending AND x.object_due <= now()
                   AND x.object_attempts >= p_attempts
                 FOR UPDATE SKIP LOCKED
    LOOP
        PERFORM fedi_inbox_fetch_done(v_id, NULL,
            coalesce((SELECT object_error FROM inbox_activities
                       WHERE inbox_activities.id = v_id), 'no answer')
            || ' (given up after ' || p_attempts || ' attempts)');
    END LOOP;

    RETURN QUERY
    UPDATE inbox_activities i
       SET object_due = now() + make_interval(secs => p_lease),
           object_attempts = i.object_attempts + 1
      FROM (SELECT x.id FROM inbox_activities x
             WHERE x.object_pending AND x.object_due <= now()
               AND x.object_attempts < p_attempts
             ORDER BY x.object_due LIMIT p_limit
             FOR UPDATE SKIP LOCKED) c
     WHERE i.id = c.id
    RETURNING i.id, i.body, fedi_ap_id(i.body -> 'actor'),
              i.object_attempts;
END
$$;

-- a failure that may pass (the network, the origin's 5xx): tried again
-- after 2^attempts seconds while attempts are left, else given up; the
-- seconds until then, or NULL when given up
CREATE FUNCTION fedi_inbox_fetch_retry(p_id bigint, p_error text,
                                       p_attempts integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_n integer;
BEGIN
    UPDATE inbox_activities
       SET object_error = p_error,
           object_due = now() + make_interval(
               secs => least(3600, 2 ^ object_attempts))
     WHERE id = p_id AND object_pending AND object_attempts < p_attempts
    RETURNING object_attempts INTO v_n;

    IF v_n IS NOT NULL THEN
        RETURN least(3600, 2 ^ v_n)::integer;
    END IF;

    PERFORM fedi_inbox_fetch_done(p_id, NULL, p_error || ' (given up after '
                                              || p_attempts || ' attempts)');
    RETURN NULL;
END
$$;

-- as in 0016, but never a row whose object is still to be fetched, nor
-- one that came after such a row of the same actor
CREATE OR REPLACE FUNCTION fedi_inbox_run(p_limit integer, p_base text)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_act     inbox_activities;
    v_n       integer := 0;
    v_outcome text;
    v_created bigint[] := '{}';
BEGIN
    FOR v_act IN SELECT * FROM inbox_activities a
                  WHERE processed_at IS NULL AND NOT object_pending
                    AND NOT EXISTS (SELECT 1 FROM inbox_activities p
                                     WHERE p.object_pending
                                       AND p.account_id = a.account_id
                                       AND p.id < a.id)
                  ORDER BY id LIMIT p_limit
                  FOR UPDATE OF a SKIP LOCKED
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
