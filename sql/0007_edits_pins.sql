-- Edits keep every earlier version; pins are an account's featured posts.

CREATE TABLE status_edits (
    id            bigint PRIMARY KEY DEFAULT fedi_id(),
    status_id     bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    text          text NOT NULL,
    content       text NOT NULL,
    spoiler_text  text NOT NULL,
    sensitive     boolean NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE INDEX status_edits_status ON status_edits (status_id, id);

CREATE TABLE status_pins (
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id   bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, status_id)
);

-- The version being replaced goes to status_edits, the new text to the
-- status, mentions and tags are recomputed.  False when the account may
-- not edit it.
CREATE FUNCTION fedi_edit_status(
    p_account bigint, p_status bigint, p_text text, p_content text,
    p_spoiler text, p_sensitive boolean, p_language text,
    p_mentions bigint[], p_tags text[])
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO status_edits (status_id, text, content, spoiler_text,
                              sensitive, created_at)
    SELECT id, text, content, spoiler_text, sensitive,
           coalesce(edited_at, created_at)
      FROM statuses
     WHERE id = p_status AND account_id = p_account AND deleted_at IS NULL
       AND reblog_of_id IS NULL;

    IF NOT FOUND THEN
        RETURN false;
    END IF;

    UPDATE statuses SET text = p_text, content = p_content,
                        spoiler_text = p_spoiler, sensitive = p_sensitive,
                        language = coalesce(p_language, language),
                        edited_at = now(), updated_at = now()
     WHERE id = p_status;

    DELETE FROM mentions WHERE status_id = p_status
       AND account_id <> ALL (p_mentions);
    INSERT INTO mentions (status_id, account_id)
    SELECT p_status, m FROM unnest(p_mentions) AS m ON CONFLICT DO NOTHING;

    DELETE FROM statuses_tags WHERE status_id = p_status;
    INSERT INTO tags (name)
    SELECT DISTINCT t FROM unnest(p_tags) AS t
    ON CONFLICT (lower(name)) DO NOTHING;
    INSERT INTO statuses_tags (status_id, tag_id)
    SELECT DISTINCT p_status, g.id FROM unnest(p_tags) AS t
      JOIN tags g ON lower(g.name) = lower(t)
    ON CONFLICT DO NOTHING;

    -- those who boosted it hear of the change, as in Mastodon
    INSERT INTO notifications (account_id, from_account_id, type, status_id)
    SELECT DISTINCT b.account_id, p_account, 'update', p_status
      FROM statuses b
     WHERE b.reblog_of_id = p_status AND b.deleted_at IS NULL
       AND b.account_id <> p_account;

    RETURN true;
END
$$;

-- 'ok', 'not_found', 'not_allowed' (not one's own public or unlisted
-- post) or 'limit' (five already)
CREATE FUNCTION fedi_pin(p_account bigint, p_status bigint, p_on boolean)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_account    bigint;
    v_visibility text;
BEGIN
    SELECT account_id, visibility INTO v_account, v_visibility
      FROM statuses
     WHERE id = p_status AND deleted_at IS NULL AND reblog_of_id IS NULL;

    IF v_account IS NULL THEN
        RETURN 'not_found';
    END IF;

    IF NOT p_on THEN
        DELETE FROM status_pins WHERE account_id = p_account
           AND status_id = p_status;
        RETURN 'ok';
    END IF;

    IF v_account <> p_account
       OR v_visibility NOT IN ('public', 'unlisted') THEN
        RETURN 'not_allowed';
    END IF;

    IF (SELECT count(*) FROM status_pins WHERE account_id = p_account) >= 5
       AND NOT EXISTS (SELECT 1 FROM status_pins WHERE account_id = p_account
                          AND status_id = p_status) THEN
        RETURN 'limit';
    END IF;

    INSERT INTO status_pins (account_id, status_id)
    VALUES (p_account, p_status) ON CONFLICT DO NOTHING;

    RETURN 'ok';
END
$$;
