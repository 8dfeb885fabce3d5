-- The streaming API's mailbox.  Every action that a stream reports writes
-- its events here, in the transaction of the action, by the triggers
-- below; a NOTIFY fedi_stream (sent at commit, merged into one per
-- transaction) is only the doorbell.  Each nginx worker of each node
-- reads the rows after the last one it saw, so an event larger than
-- NOTIFY's 8,000 bytes, or one committed while the worker's listening
-- connection was down, still arrives.  The rows say what happened to
-- which object and for which stream; the worker renders the entity for
-- each subscriber.  Rows are pruned after a few minutes.
--
-- stream: 'user:ACCOUNT' (home feed and notifications), 'public',
-- 'hashtag:NAME' (lower case), 'direct:ACCOUNT'; local tells the public
-- and hashtag streams' local and remote variants apart.

CREATE TABLE stream_events (
    id          bigserial PRIMARY KEY,
    stream      text NOT NULL,
    event       text NOT NULL,
    object_id   bigint NOT NULL,
    local       boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX stream_events_object ON stream_events (object_id);
CREATE INDEX stream_events_created ON stream_events (created_at);

CREATE FUNCTION fedi_stream_ring() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fedi_stream', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER stream_events_ring AFTER INSERT ON stream_events
    FOR EACH STATEMENT EXECUTE FUNCTION fedi_stream_ring();


-- A bulk load (an import, a benchmark's seed) may say SET
-- fedi.stream_quiet = on: its rows are not announced.
CREATE FUNCTION fedi_stream_quiet()
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('fedi.stream_quiet', true), '') = 'on'
$$;


-- Whether a status goes to the public and hashtag streams, as Mastodon's
-- fan-out decides: public, no boost, no reply to someone else, not from
-- a silenced or suspended account.
CREATE FUNCTION fedi_stream_broadcast(s statuses)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT s.visibility = 'public' AND s.reblog_of_id IS NULL
       AND s.deleted_at IS NULL
       AND (s.in_reply_to_account_id IS NULL
            OR s.in_reply_to_account_id = s.account_id)
       AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.account_id
                      AND a.silenced_at IS NULL AND a.suspended_at IS NULL)
$$;

CREATE FUNCTION fedi_stream_local(p_account bigint)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT domain IS NULL FROM accounts WHERE id = p_account
$$;


-- A new row of a home feed is an update of its owner's user stream; but
-- not the backfill of an account just followed (its older posts join the
-- feed without being announced, as in Mastodon).
CREATE FUNCTION fedi_stream_feeds_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF fedi_stream_quiet() THEN
        RETURN NULL;
    END IF;

    INSERT INTO stream_events (stream, event, object_id)
    SELECT 'user:' || n.account_id, 'update', n.status_id
      FROM new_feeds n JOIN statuses s ON s.id = n.status_id
     WHERE s.deleted_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM follows f
                        WHERE f.account_id = n.account_id
                          AND f.target_account_id = s.account_id
                          AND f.created_at = now()
                          AND fedi_id_at(now()) > s.id)
     ORDER BY n.status_id, n.account_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER feeds_stream_new AFTER INSERT ON feeds
    REFERENCING NEW TABLE AS new_feeds
    FOR EACH STATEMENT EXECUTE FUNCTION fedi_stream_feeds_new();

-- A deleted status leaving home feeds: a delete for their owners (once,
-- however many statements take it out)
CREATE FUNCTION fedi_stream_feeds_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF fedi_stream_quiet() THEN
        RETURN NULL;
    END IF;

    INSERT INTO stream_events (stream, event, object_id)
    SELECT DISTINCT 'user:' || o.account_id, 'delete', o.status_id
      FROM old_feeds o JOIN statuses s ON s.id = o.status_id
     WHERE s.deleted_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM stream_events e
                        WHERE e.object_id = o.status_id
                          AND e.stream = 'user:' || o.account_id
                          AND e.event = 'delete');
    RETURN NULL;
END
$$;

CREATE TRIGGER feeds_stream_gone AFTER DELETE ON feeds
    REFERENCING OLD TABLE AS old_feeds
    FOR EACH STATEMENT EXECUTE FUNCTION fedi_stream_feeds_gone();


-- A new status on the public streams
CREATE FUNCTION fedi_stream_status_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF fedi_stream_quiet() THEN
        RETURN NULL;
    END IF;

    IF fedi_stream_broadcast(NEW) THEN
        INSERT INTO stream_events (stream, event, object_id, local)
        VALUES ('public', 'update', NEW.id,
                fedi_stream_local(NEW.account_id));
    END IF;

    RETURN NULL;
END
$$;

CREATE TRIGGER statuses_stream_new AFTER INSERT ON statuses
    FOR EACH ROW EXECUTE FUNCTION fedi_stream_status_new();

-- The tags of a new status (an edit sets edited_at before it replaces
-- them): the hashtag streams
CREATE FUNCTION fedi_stream_tags_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF fedi_stream_quiet() THEN
        RETURN NULL;
    END IF;

    INSERT INTO stream_events (stream, event, object_id, local)
    SELECT 'hashtag:' || lower(t.name), 'update', s.id,
           fedi_stream_local(s.account_id)
      FROM new_tags n JOIN statuses s ON s.id = n.status_id
      JOIN tags t ON t.id = n.tag_id
     WHERE s.edited_at IS NULL AND fedi_stream_broadcast(s)
     ORDER BY s.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER statuses_tags_stream_new AFTER INSERT ON statuses_tags
    REFERENCING NEW TABLE AS new_tags
    FOR EACH STATEMENT EXECUTE FUNCTION fedi_stream_tags_new();

-- A new direct status: its conversation (object_id: the thread), for its
-- author and each mentioned local account (the mentions follow the
-- status row; once per transaction)
CREATE FUNCTION fedi_stream_mentions_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF fedi_stream_quiet() THEN
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

CREATE TRIGGER mentions_stream_new AFTER INSERT ON mentions
    REFERENCING NEW TABLE AS new_mentions
    FOR EACH STATEMENT EXECUTE FUNCTION fedi_stream_mentions_new();

-- An edit: status.update wherever the status was announced; a delete:
-- delete on the public and hashtag streams and in the feeds that still
-- hold it (fedi_stream_feeds_gone covers those that drop it)
CREATE FUNCTION fedi_stream_status_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_event  text;
    v_local  boolean;
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

    v_local := fedi_stream_local(NEW.account_id);

    INSERT INTO stream_events (stream, event, object_id)
    SELECT 'user:' || f.account_id, v_event, NEW.id
      FROM feeds f WHERE f.status_id = NEW.id
     ORDER BY f.account_id;

    IF OLD.visibility = 'public' AND OLD.reblog_of_id IS NULL THEN
        INSERT INTO stream_events (stream, event, object_id, local)
        VALUES ('public', v_event, NEW.id, v_local);

        INSERT INTO stream_events (stream, event, object_id, local)
        SELECT 'hashtag:' || lower(t.name), v_event, NEW.id, v_local
          FROM statuses_tags st JOIN tags t ON t.id = st.tag_id
         WHERE st.status_id = NEW.id;
    END IF;

    RETURN NULL;
END
$$;

CREATE TRIGGER statuses_stream_changed AFTER UPDATE OF deleted_at, edited_at
    ON statuses
    FOR EACH ROW EXECUTE FUNCTION fedi_stream_status_changed();

-- A notification: its owner's user stream
CREATE FUNCTION fedi_stream_notifications_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF fedi_stream_quiet() THEN
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

CREATE TRIGGER notifications_stream_new AFTER INSERT ON notifications
    REFERENCING NEW TABLE AS new_notifications
    FOR EACH STATEMENT EXECUTE FUNCTION fedi_stream_notifications_new();


-- For a batch of (viewer, status) pairs: whether the viewer may receive
-- the status on a stream, and the viewer's own marks on it.  Refused:
-- what the viewer may not see (fedi_status_visible: visibility, blocks
-- either way), a status or boost by an account the viewer mutes or whose
-- domain the viewer blocks, and one mentioning an account the viewer
-- blocks or mutes (Mastodon's streaming filter).
CREATE FUNCTION fedi_stream_view(p_viewers bigint[], p_statuses bigint[])
RETURNS TABLE (viewer bigint, status bigint, allowed boolean,
               favourited boolean, bookmarked boolean, reblogged boolean,
               pinned boolean, muted boolean)
LANGUAGE sql STABLE AS $$
    SELECT v.viewer, v.status,
           s.id IS NOT NULL AND s.deleted_at IS NULL
           AND fedi_status_visible(s.id, s.account_id, s.visibility,
                                   v.viewer)
           AND (r.id IS NULL OR (r.deleted_at IS NULL
                AND fedi_status_visible(r.id, r.account_id, r.visibility,
                                        v.viewer)))
           AND NOT EXISTS (SELECT 1 FROM mutes m
                            WHERE m.account_id = v.viewer
                              AND (m.target_account_id = s.account_id
                                   OR m.target_account_id = r.account_id
                                   OR m.target_account_id IN
                                      (SELECT x.account_id FROM mentions x
                                        WHERE x.status_id = s.id))
                              AND (m.expires_at IS NULL
                                   OR m.expires_at > now()))
           AND NOT EXISTS (SELECT 1 FROM blocks b
                            WHERE b.account_id = v.viewer
                              AND b.target_account_id IN
                                  (SELECT x.account_id FROM mentions x
                                    WHERE x.status_id = s.id))
           AND NOT EXISTS (SELECT 1 FROM account_domain_blocks db
                             JOIN accounts da ON lower(da.domain) = db.domain
                            WHERE db.account_id = v.viewer
                              AND (da.id = s.account_id
                                   OR da.id = r.account_id)),
           EXISTS (SELECT 1 FROM favourites fv WHERE fv.status_id = s.id
                      AND fv.account_id = v.viewer),
           EXISTS (SELECT 1 FROM bookmarks bm WHERE bm.status_id = s.id
                      AND bm.account_id = v.viewer),
           EXISTS (SELECT 1 FROM statuses rb WHERE rb.reblog_of_id = s.id
                      AND rb.account_id = v.viewer
                      AND rb.deleted_at IS NULL),
           EXISTS (SELECT 1 FROM status_pins sp WHERE sp.status_id = s.id
                      AND sp.account_id = v.viewer),
           EXISTS (SELECT 1 FROM conversation_mutes cm
                    WHERE cm.account_id = v.viewer
                      AND cm.conversation_id
                          = coalesce(s.conversation_id, s.id))
      FROM unnest(p_viewers, p_statuses) AS v(viewer, status)
      LEFT JOIN statuses s ON s.id = v.status
      LEFT JOIN statuses r ON r.id = s.reblog_of_id
$$;
