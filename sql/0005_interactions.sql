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
