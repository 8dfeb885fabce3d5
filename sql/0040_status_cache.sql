-- The rendered-status cache of the nginx workers (fedi_status_cache.c)
-- keys a rendered status by the row versions (xmin) of the status and of
-- its author.  What a status shows from other rows makes a new version
-- of its row when it changes, here: an attachment already attached that
-- changes (processed, its description, its file fetched into the media
-- cache, a thumbnail), and a custom emoji that changes or is disabled,
-- for the statuses and accounts that show it.  Attaching itself comes
-- with a new or edited status row in the same transaction.
--
-- The touch sets a counter to itself: no trigger watches that column,
-- so nothing is delivered or streamed for it.

CREATE OR REPLACE FUNCTION fedi_status_touch_media() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE statuses SET replies_count = replies_count
     WHERE id = NEW.status_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER media_attachments_status_touch AFTER UPDATE
    ON media_attachments
    FOR EACH ROW WHEN (OLD.status_id IS NOT NULL
                       AND OLD.status_id = NEW.status_id
                       AND OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION fedi_status_touch_media();

CREATE OR REPLACE FUNCTION fedi_status_touch_emoji() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE statuses SET replies_count = replies_count
     WHERE id IN (SELECT status_id FROM status_emojis
                   WHERE emoji_id = NEW.id);
    UPDATE accounts SET followers_count = followers_count
     WHERE id IN (SELECT account_id FROM account_emojis
                   WHERE emoji_id = NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER custom_emojis_status_touch AFTER UPDATE ON custom_emojis
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION fedi_status_touch_emoji();
