-- Muted threads and the per-account state of direct conversations.

-- A thread is its statuses' conversation_id (the first status's id).
CREATE TABLE conversation_mutes (
    account_id       bigint NOT NULL REFERENCES accounts (id)
                     ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    PRIMARY KEY (account_id, conversation_id)
);

-- Read and removed are remembered as the last status id they covered:
-- a newer direct status makes the conversation unread (for those who did
-- not write it) and brings a removed one back, as in Mastodon.
CREATE TABLE conversation_states (
    account_id       bigint NOT NULL REFERENCES accounts (id)
                     ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    read_up_to       bigint NOT NULL DEFAULT 0,
    removed_up_to    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, conversation_id)
);

-- Mute (on) or unmute the thread of a status the account may see; false
-- when it may not.
CREATE FUNCTION fedi_mute_conversation(p_account bigint, p_status bigint,
                                       p_on boolean)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_conversation bigint;
BEGIN
    SELECT coalesce(s.conversation_id, s.id) INTO v_conversation
      FROM statuses s
     WHERE s.id = p_status AND s.deleted_at IS NULL
       AND fedi_status_visible(s.id, s.account_id, s.visibility, p_account);

    IF v_conversation IS NULL THEN
        RETURN false;
    END IF;

    IF p_on THEN
        INSERT INTO conversation_mutes (account_id, conversation_id)
        VALUES (p_account, v_conversation) ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM conversation_mutes WHERE account_id = p_account
           AND conversation_id = v_conversation;
    END IF;

    RETURN true;
END
$$;

-- Whatever notifies about a status of a muted thread notifies nobody who
-- muted it: one rule for every kind (mention, favourite, reblog, update,
-- poll), as Mastodon's notification filter.
CREATE FUNCTION fedi_notification_muted_thread()
RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM statuses s JOIN conversation_mutes cm
            ON cm.conversation_id = coalesce(s.conversation_id, s.id)
         WHERE s.id = NEW.status_id AND cm.account_id = NEW.account_id)
    THEN
        RETURN NULL;
    END IF;

    RETURN NEW;
END
$$;

CREATE TRIGGER notifications_muted_thread BEFORE INSERT ON notifications
    FOR EACH ROW EXECUTE FUNCTION fedi_notification_muted_thread();

-- $1 account, $2 conversation: mark read or remove up to its last direct
-- status; false when the account is not in it.
CREATE FUNCTION fedi_conversation_mark(p_account bigint, p_conversation bigint,
                                       p_remove boolean)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_last bigint;
BEGIN
    SELECT max(s.id) INTO v_last FROM statuses s
     WHERE s.conversation_id = p_conversation AND s.visibility = 'direct'
       AND s.deleted_at IS NULL
       AND (s.account_id = p_account OR EXISTS (SELECT 1 FROM mentions m
             WHERE m.status_id = s.id AND m.account_id = p_account));

    IF v_last IS NULL OR EXISTS (SELECT 1 FROM conversation_states c
         WHERE c.account_id = p_account AND c.conversation_id = p_conversation
           AND c.removed_up_to >= v_last)
    THEN
        RETURN false;
    END IF;

    INSERT INTO conversation_states AS c (account_id, conversation_id,
                                          read_up_to, removed_up_to)
    VALUES (p_account, p_conversation, v_last,
            CASE WHEN p_remove THEN v_last ELSE 0 END)
    ON CONFLICT (account_id, conversation_id) DO UPDATE
       SET read_up_to = v_last,
           removed_up_to = CASE WHEN p_remove THEN v_last
                                ELSE c.removed_up_to END;

    RETURN true;
END
$$;
