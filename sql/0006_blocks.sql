-- Blocks, mutes, follow requests, private notes: one function each way.

CREATE FUNCTION fedi_block(p_account bigint, p_target bigint, p_on boolean)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT p_on THEN
        DELETE FROM blocks WHERE account_id = p_account
           AND target_account_id = p_target;
        RETURN;
    END IF;

    INSERT INTO blocks (account_id, target_account_id)
    VALUES (p_account, p_target) ON CONFLICT DO NOTHING;

    -- a block ends following both ways, and what was in either feed
    PERFORM fedi_unfollow(p_account, p_target);
    PERFORM fedi_unfollow(p_target, p_account);

    DELETE FROM feeds f USING statuses s
     WHERE f.account_id = p_account AND s.id = f.status_id
       AND s.account_id = p_target;
    DELETE FROM notifications WHERE account_id = p_account
       AND from_account_id = p_target;
END
$$;

CREATE FUNCTION fedi_mute(p_account bigint, p_target bigint, p_on boolean,
                          p_notifications boolean, p_duration integer)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT p_on THEN
        DELETE FROM mutes WHERE account_id = p_account
           AND target_account_id = p_target;
        RETURN;
    END IF;

    INSERT INTO mutes (account_id, target_account_id, hide_notifications,
                       expires_at)
    VALUES (p_account, p_target, coalesce(p_notifications, true),
            CASE WHEN coalesce(p_duration, 0) > 0
                 THEN now() + p_duration * interval '1 second' END)
    ON CONFLICT (account_id, target_account_id) DO UPDATE
       SET hide_notifications = excluded.hide_notifications,
           expires_at = excluded.expires_at;

    DELETE FROM feeds f USING statuses s
     WHERE f.account_id = p_account AND s.id = f.status_id
       AND s.account_id = p_target;
END
$$;

-- p_accept: authorize (true) or reject (false) p_from's request to follow
-- p_account; false when there was no such request
CREATE FUNCTION fedi_follow_request(p_account bigint, p_from bigint,
                                    p_accept boolean)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_reblogs boolean;
    v_notify  boolean;
BEGIN
    DELETE FROM follow_requests WHERE account_id = p_from
       AND target_account_id = p_account
    RETURNING show_reblogs, notify INTO v_reblogs, v_notify;

    IF NOT FOUND THEN
        RETURN false;
    END IF;

    DELETE FROM notifications WHERE account_id = p_account
       AND from_account_id = p_from AND type = 'follow_request';

    IF p_accept THEN
        INSERT INTO follows (account_id, target_account_id, show_reblogs,
                             notify)
        VALUES (p_from, p_account, v_reblogs, v_notify)
        ON CONFLICT DO NOTHING;

        IF FOUND THEN
            UPDATE accounts SET following_count = following_count + 1
             WHERE id = p_from;
            UPDATE accounts SET followers_count = followers_count + 1
             WHERE id = p_account;

            INSERT INTO feeds (account_id, status_id)
            SELECT p_from, s.id FROM statuses s
             WHERE s.account_id = p_account AND s.deleted_at IS NULL
               AND s.visibility IN ('public', 'unlisted', 'private')
               AND s.in_reply_to_id IS NULL
             ORDER BY s.id DESC LIMIT 400
            ON CONFLICT DO NOTHING;
        END IF;
    END IF;

    RETURN true;
END
$$;
