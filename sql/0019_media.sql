-- Media attachments: uploaded by a local account (processed in nginx's
-- thread pool, stored on disk under unguessable paths), or described by a
-- remote Note (remote_url set, no files here).  A row belongs to its
-- account and, once attached, to one status.
--
-- Inbound federation can reuse the shape: a remote attachment is a row
-- with account_id the remote author, status_id its status, remote_url the
-- Document's url, type from its mediaType, processed true, and the
-- description, blurhash, focus and meta ({"original": {"width": W,
-- "height": H, ...}}) the Document carries; fedi_media_render() shows it
-- by its remote URL.

CREATE TABLE media_attachments (
    id            bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id     bigint REFERENCES statuses (id) ON DELETE SET NULL,
    position      smallint NOT NULL DEFAULT 0,   -- order in the status
    type          text NOT NULL DEFAULT 'unknown'
                  CHECK (type IN ('unknown', 'image', 'gifv', 'video',
                                  'audio')),
    content_type  text,               -- of the stored original
    file_path     text,               -- under fedi_media_root
    preview_path  text,
    file_size     bigint,
    remote_url    text,
    description   text,
    blurhash      text,
    meta          jsonb NOT NULL DEFAULT '{}',
    focus_x       real,
    focus_y       real,
    processed     boolean NOT NULL DEFAULT false,
    failed        boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX media_attachments_status ON media_attachments (status_id)
    WHERE status_id IS NOT NULL;
CREATE INDEX media_attachments_account ON media_attachments (account_id);
CREATE UNIQUE INDEX media_attachments_remote
    ON media_attachments (status_id, remote_url)
    WHERE remote_url IS NOT NULL;

-- Attaches p_media (in that order) to the status p_status of p_account:
-- each must be the account's, processed, and not attached elsewhere
-- (already on this very status is fine: an idempotent retry).  Raises
-- 'media:...' otherwise, so the statement that posts the status fails
-- whole.
CREATE FUNCTION fedi_media_attach(p_account bigint, p_status bigint,
                                  p_media bigint[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_ok integer;
BEGIN
    IF p_media IS NULL OR cardinality(p_media) = 0 THEN
        RETURN;
    END IF;

    IF cardinality(p_media) > 4 THEN
        RAISE EXCEPTION 'media:Validation failed: Media attachments are '
                        'limited to 4';
    END IF;

    UPDATE media_attachments m SET status_id = p_status,
           position = o.n, updated_at = now()
      FROM unnest(p_media) WITH ORDINALITY o(id, n)
     WHERE m.id = o.id AND m.account_id = p_account AND m.processed
       AND NOT m.failed
       AND (m.status_id IS NULL OR m.status_id = p_status);

    GET DIAGNOSTICS v_ok = ROW_COUNT;

    IF v_ok <> (SELECT count(DISTINCT x) FROM unnest(p_media) x) THEN
        RAISE EXCEPTION 'media:Validation failed: Media attachments are '
                        'invalid or still being processed';
    END IF;
END
$$;

-- posting with attachments: one statement, one transaction
CREATE FUNCTION fedi_post_status_media(
    p_account bigint, p_text text, p_content text, p_spoiler text,
    p_sensitive boolean, p_visibility text, p_language text,
    p_reply bigint, p_app bigint, p_mentions bigint[], p_tags text[],
    p_idempotency text, p_poll_options text[], p_poll_expires_in integer,
    p_poll_multiple boolean, p_poll_hide_totals boolean, p_media bigint[])
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF cardinality(p_media) > 0 AND p_poll_options IS NOT NULL THEN
        RAISE EXCEPTION 'media:Validation failed: Cannot attach files to '
                        'a post with a poll';
    END IF;

    v_id := fedi_post_status(p_account, p_text, p_content, p_spoiler,
                             p_sensitive, p_visibility, p_language,
                             p_reply, p_app, p_mentions, p_tags,
                             p_idempotency, p_poll_options,
                             p_poll_expires_in, p_poll_multiple,
                             p_poll_hide_totals);

    PERFORM fedi_media_attach(p_account, v_id, p_media);

    RETURN v_id;
END
$$;

-- editing: p_media NULL keeps the attachments; else they become exactly
-- p_media (the ones left out are detached, as Mastodon keeps them)
CREATE FUNCTION fedi_edit_status_media(
    p_account bigint, p_status bigint, p_text text, p_content text,
    p_spoiler text, p_sensitive boolean, p_language text,
    p_mentions bigint[], p_tags text[], p_media bigint[])
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT fedi_edit_status(p_account, p_status, p_text, p_content,
                            p_spoiler, p_sensitive, p_language, p_mentions,
                            p_tags)
    THEN
        RETURN false;
    END IF;

    IF p_media IS NOT NULL THEN
        UPDATE media_attachments SET status_id = NULL, updated_at = now()
         WHERE status_id = p_status AND NOT id = ANY (p_media);

        PERFORM fedi_media_attach(p_account, p_status, p_media);
    END IF;

    RETURN true;
END
$$;
