-- Favourites and bookmarks, as one function each way: the status must be
-- visible to the account; counters and notifications follow.

CREATE FUNCTION fedi_favourite(p_account bigint, p_status bigint,
                               p_on boolean)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_author bigint;
BEGIN
    SELECT s.account_id INTO v_author FROM statuses s
     WHERE s.id = p_status AND s.deleted_at IS NULL
       AND fedi_status_visible(s.id, s.account_id, s.visibility, p_account);

    IF v_author IS NULL THEN
        RETURN false;
    END IF;

    IF p_on THEN
        INSERT INTO favourites (account_id, status_id)
        VALUES (p_account, p_status) ON CONFLICT DO NOTHING;

        IF FOUND THEN
            UPDATE statuses SET favourites_count = favourites_count + 1
             WHERE id = p_status;

            IF v_author <> p_account THEN
                INSERT INTO notifications (account_id, from_account_id, type,
                                           status_id)
                VALUES (v_author, p_account, 'favourite', p_status);
            END IF;
        END IF;
    ELSE
        DELETE FROM favourites WHERE account_id = p_account
           AND status_id = p_status;

        IF FOUND THEN
            UPDATE statuses
               SET favourites_count = greatest(favourites_count - 1, 0)
             WHERE id = p_status;
            DELETE FROM notifications WHERE account_id = v_author
               AND from_account_id = p_account AND type = 'favourite'
               AND status_id = p_status;
        END IF;
    END IF;

    RETURN true;
END
$$;

CREATE FUNCTION fedi_bookmark(p_account bigint, p_status bigint,
                              p_on boolean)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM statuses s
                    WHERE s.id = p_status AND s.deleted_at IS NULL
                      AND fedi_status_visible(s.id, s.account_id,
                                              s.visibility, p_account)) THEN
        RETURN false;
    END IF;

    IF p_on THEN
        INSERT INTO bookmarks (account_id, status_id)
        VALUES (p_account, p_status) ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM bookmarks WHERE account_id = p_account
           AND status_id = p_status;
    END IF;

    RETURN true;
END
$$;

-- Boosting: a status of the account's own pointing at the boosted one.
-- Returns the wrapper's id (on) or the boosted status's id (off); NULL
-- when the account may not see it, -1 when it may see but not boost it
-- (private and direct posts, but one's own private ones).
CREATE FUNCTION fedi_reblog(p_account bigint, p_status bigint,
                            p_visibility text, p_on boolean)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_author     bigint;
    v_visibility text;
    v_id         bigint;
BEGIN
    SELECT s.account_id, s.visibility INTO v_author, v_visibility
      FROM statuses s
     WHERE s.id = p_status AND s.deleted_at IS NULL
       AND s.reblog_of_id IS NULL
       AND fedi_status_visible(s.id, s.account_id, s.visibility, p_account);

    IF v_author IS NULL THEN
        RETURN NULL;
    END IF;

    IF NOT p_on THEN
        UPDATE statuses SET deleted_at = now()
         WHERE account_id = p_account AND reblog_of_id = p_status
           AND deleted_at IS NULL
        RETURNING id INTO v_id;

        IF v_id IS NOT NULL THEN
            UPDATE statuses SET reblogs_count = greatest(reblogs_count - 1, 0)
             WHERE id = p_status;
            DELETE FROM feeds WHERE status_id = v_id;
            DELETE FROM notifications WHERE account_id = v_author
               AND from_account_id = p_account AND type = 'reblog'
               AND status_id = p_status;
        END IF;

        RETURN p_status;
    END IF;

    IF v_visibility = 'direct'
       OR (v_visibility = 'private' AND v_author <> p_account) THEN
        RETURN -1;
    END IF;

    SELECT id INTO v_id FROM statuses
     WHERE account_id = p_account AND reblog_of_id = p_status
       AND deleted_at IS NULL;

    IF v_id IS NOT NULL THEN
        RETURN v_id;
    END IF;

    INSERT INTO statuses (account_id, reblog_of_id, visibility)
    VALUES (p_account, p_status,
            CASE WHEN v_visibility = 'private' THEN 'private'
                 ELSE coalesce(p_visibility, 'public') END)
    RETURNING id INTO v_id;

    UPDATE statuses SET reblogs_count = reblogs_count + 1
     WHERE id = p_status;

    IF v_author <> p_account THEN
        INSERT INTO notifications (account_id, from_account_id, type,
                                   status_id)
        VALUES (v_author, p_account, 'reblog', p_status);
    END IF;

    -- followers who take boosts, unless they follow the author and saw it
    INSERT INTO feeds (account_id, status_id) VALUES (p_account, v_id)
    ON CONFLICT DO NOTHING;

    INSERT INTO feeds (account_id, status_id)
    SELECT f.account_id, v_id FROM follows f
      JOIN accounts a ON a.id = f.account_id AND a.domain IS NULL
     WHERE f.target_account_id = p_account AND f.show_reblogs
       AND f.account_id <> v_author
       AND NOT EXISTS (SELECT 1 FROM feeds x WHERE x.account_id = f.account_id
                          AND x.status_id = p_status)
       AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = f.account_id
                          AND b.target_account_id IN (p_account, v_author))
    ON CONFLICT DO NOTHING;

    RETURN v_id;
END
$$;
