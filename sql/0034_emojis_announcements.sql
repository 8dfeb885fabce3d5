-- Custom emojis and announcements.
--
-- Emojis: a local one is a file under fedi_media_root (image_file, the
-- URL made by the module from fedi_media_url), added by `fedictl emoji
-- add`; a remote one comes from an Emoji tag of a Note or an actor of its
-- domain and is shown by its remote URL (image_url).  Which emojis a
-- status or an account uses is what Mastodon computes from the text: the
-- :shortcodes: in it that name an emoji of the author's domain (local
-- ones for local authors).  Here that is worked out when the text is
-- written, by the triggers below, into status_emojis and account_emojis,
-- so a page of statuses costs one index look-up per row, not a scan.
--
-- Announcements: the instance's notices (`fedictl announcements`), each
-- user's dismissals (read) and reactions, and the streaming events
-- announcement, announcement.reaction and announcement.delete for every
-- user's user stream.

ALTER TABLE custom_emojis
    ADD COLUMN image_file          text,      -- under fedi_media_root
    ADD COLUMN image_content_type  text,
    ALTER COLUMN image_url DROP NOT NULL,
    ALTER COLUMN static_url DROP NOT NULL;

CREATE TABLE status_emojis (
    status_id  bigint NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    emoji_id   bigint NOT NULL REFERENCES custom_emojis (id)
               ON DELETE CASCADE,
    PRIMARY KEY (status_id, emoji_id)
);

CREATE INDEX status_emojis_emoji ON status_emojis (emoji_id);

CREATE TABLE account_emojis (
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    emoji_id    bigint NOT NULL REFERENCES custom_emojis (id)
                ON DELETE CASCADE,
    PRIMARY KEY (account_id, emoji_id)
);

CREATE INDEX account_emojis_emoji ON account_emojis (emoji_id);


-- The :shortcodes: of a text, as Mastodon's CustomEmoji::SCAN_RE finds
-- them: two or more of [a-zA-Z0-9_] between colons, neither colon next
-- to a letter, a digit or another colon.
CREATE FUNCTION fedi_emoji_shortcodes(p_text text)
RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(DISTINCT m[1]), '{}')
      FROM regexp_matches(coalesce(p_text, ''),
               '(?:^|[^[:alnum:]:]):([a-zA-Z0-9_]{2,}):(?=[^[:alnum:]:]|$)',
               'g') m
$$;

-- the emojis of a domain (NULL: local) a text names
CREATE FUNCTION fedi_emojis_in(p_text text, p_domain text)
RETURNS SETOF bigint
LANGUAGE sql STABLE AS $$
    SELECT e.id FROM custom_emojis e
     WHERE e.shortcode = ANY (fedi_emoji_shortcodes(p_text))
       AND coalesce(e.domain, '') = coalesce(lower(p_domain), '')
$$;

-- A status's emojis from its spoiler, its content and its poll's options
CREATE FUNCTION fedi_status_emojis_link(p_status bigint)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
BEGIN
    SELECT coalesce(array_agg(x), '{}') INTO v_ids
      FROM statuses s JOIN accounts a ON a.id = s.account_id
      CROSS JOIN LATERAL fedi_emojis_in(
               s.spoiler_text || ' ' || s.content || ' '
               || coalesce((SELECT array_to_string(p.options, ' ')
                              FROM polls p WHERE p.status_id = s.id), ''),
               a.domain) x
     WHERE s.id = p_status;

    DELETE FROM status_emojis
     WHERE status_id = p_status AND emoji_id <> ALL (v_ids);
    INSERT INTO status_emojis (status_id, emoji_id)
    SELECT p_status, x FROM unnest(v_ids) x ON CONFLICT DO NOTHING;
END
$$;

-- An account's from its display name, its note and its fields
CREATE FUNCTION fedi_account_emojis_link(p_account bigint)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_ids bigint[];
BEGIN
    SELECT coalesce(array_agg(x), '{}') INTO v_ids
      FROM accounts a
      CROSS JOIN LATERAL fedi_emojis_in(
               a.display_name || ' ' || a.note || ' '
               || coalesce((SELECT string_agg(coalesce(f ->> 'name', '')
                                              || ' '
                                              || coalesce(f ->> 'value', ''),
                                              ' ')
                              FROM jsonb_array_elements(
                                     CASE jsonb_typeof(a.fields)
                                          WHEN 'array' THEN a.fields
                                          ELSE '[]' END) f), ''),
               a.domain) x
     WHERE a.id = p_account;

    DELETE FROM account_emojis
     WHERE account_id = p_account AND emoji_id <> ALL (v_ids);
    INSERT INTO account_emojis (account_id, emoji_id)
    SELECT p_account, x FROM unnest(v_ids) x ON CONFLICT DO NOTHING;
END
$$;

-- what may name an emoji: two colons with something between
CREATE FUNCTION fedi_emoji_maybe(p text)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(p, '') ~ ':[a-zA-Z0-9_]{2,}:'
$$;

CREATE FUNCTION fedi_status_emojis_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fedi_status_emojis_link(NEW.id);
    RETURN NULL;
END
$$;

-- a new status that may name one; a changed text, which may name none now
CREATE TRIGGER statuses_emojis_new AFTER INSERT ON statuses
    FOR EACH ROW
    WHEN (fedi_emoji_maybe(NEW.content) OR fedi_emoji_maybe(NEW.spoiler_text))
    EXECUTE FUNCTION fedi_status_emojis_trigger();

CREATE TRIGGER statuses_emojis_changed
    AFTER UPDATE OF content, spoiler_text ON statuses
    FOR EACH ROW
    WHEN (NEW.content IS DISTINCT FROM OLD.content
          OR NEW.spoiler_text IS DISTINCT FROM OLD.spoiler_text)
    EXECUTE FUNCTION fedi_status_emojis_trigger();

CREATE FUNCTION fedi_poll_emojis_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fedi_status_emojis_link(NEW.status_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER polls_emojis_new AFTER INSERT ON polls
    FOR EACH ROW
    WHEN (fedi_emoji_maybe(array_to_string(NEW.options, ' ')))
    EXECUTE FUNCTION fedi_poll_emojis_trigger();

CREATE FUNCTION fedi_account_emojis_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fedi_account_emojis_link(NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER accounts_emojis_new AFTER INSERT ON accounts
    FOR EACH ROW
    WHEN (fedi_emoji_maybe(NEW.display_name) OR fedi_emoji_maybe(NEW.note)
          OR fedi_emoji_maybe(NEW.fields::text))
    EXECUTE FUNCTION fedi_account_emojis_trigger();

CREATE TRIGGER accounts_emojis_changed
    AFTER UPDATE OF display_name, note, fields ON accounts
    FOR EACH ROW
    WHEN (NEW.display_name IS DISTINCT FROM OLD.display_name
          OR NEW.note IS DISTINCT FROM OLD.note
          OR NEW.fields IS DISTINCT FROM OLD.fields)
    EXECUTE FUNCTION fedi_account_emojis_trigger();

-- A local emoji added (or enabled again) names itself in what was written
-- before it: Mastodon finds emojis in the text when it renders, so an
-- emoji added today shows in yesterday's posts too.  Posts found by their
-- text, through the trigram-free LIKE: an operator's rare action.
CREATE FUNCTION fedi_emoji_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO status_emojis (status_id, emoji_id)
    SELECT s.id, NEW.id FROM statuses s JOIN accounts a ON a.id = s.account_id
     WHERE coalesce(a.domain, '') = coalesce(NEW.domain, '')
       AND (s.content LIKE '%:' || NEW.shortcode || ':%'
            OR s.spoiler_text LIKE '%:' || NEW.shortcode || ':%')
       AND NEW.shortcode = ANY (fedi_emoji_shortcodes(s.spoiler_text || ' '
                                                      || s.content))
    ON CONFLICT DO NOTHING;

    INSERT INTO account_emojis (account_id, emoji_id)
    SELECT a.id, NEW.id FROM accounts a
     WHERE coalesce(a.domain, '') = coalesce(NEW.domain, '')
       AND (a.display_name || a.note || a.fields::text)
           LIKE '%:' || NEW.shortcode || ':%'
       AND NEW.id IN (SELECT fedi_emojis_in(a.display_name || ' ' || a.note
                                            || ' ' || a.fields::text, NULL))
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER custom_emojis_added AFTER INSERT ON custom_emojis
    FOR EACH ROW WHEN (NEW.domain IS NULL)
    EXECUTE FUNCTION fedi_emoji_added();


-- The Emoji tags of a Note or an actor (p_obj) of p_account's domain:
-- stored or brought up to date as that domain's emojis, shown by their
-- remote URL.  As Mastodon: nothing from a domain blocked with
-- reject_media; the name is :shortcode: (or the bare shortcode); the
-- icon an https URL.
CREATE FUNCTION fedi_remote_emojis(p_account bigint, p_obj jsonb)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_domain text;
BEGIN
    -- most Notes name none: no look-ups for them
    IF NOT (coalesce(p_obj -> 'tag' @> '[{"type": "Emoji"}]', false)
            OR coalesce(p_obj -> 'tag' @> '{"type": "Emoji"}', false))
    THEN
        RETURN;
    END IF;

    SELECT lower(domain) INTO v_domain FROM accounts WHERE id = p_account;

    IF v_domain IS NULL
       OR coalesce((SELECT reject_media FROM fedi_domain_block(v_domain)),
                   false)
    THEN
        RETURN;
    END IF;

    INSERT INTO custom_emojis (shortcode, domain, uri, image_url, static_url,
                               image_content_type)
    SELECT DISTINCT ON (x.code) x.code, v_domain, x.uri, x.url, x.url,
           x.mime
      FROM (SELECT substring(t ->> 'name'
                             from '^:?([a-zA-Z0-9_]{2,100}):?$')
                       AS code,
                   coalesce(fedi_https_url(t #> '{icon,url}'),
                            fedi_https_url(t #> '{icon,0,url}')) AS url,
                   fedi_https_url(t -> 'id') AS uri,
                   left(coalesce(t #>> '{icon,mediaType}',
                                 t #>> '{icon,0,mediaType}'), 100) AS mime,
                   n
              FROM jsonb_array_elements(CASE jsonb_typeof(p_obj -> 'tag')
                       WHEN 'array' THEN p_obj -> 'tag'
                       WHEN 'object' THEN jsonb_build_array(p_obj -> 'tag')
                       ELSE '[]' END) WITH ORDINALITY e(t, n)
             WHERE jsonb_typeof(t) = 'object' AND t ->> 'type' = 'Emoji'
             ORDER BY n LIMIT 100) x
     WHERE x.code IS NOT NULL AND x.url IS NOT NULL
     ORDER BY x.code, x.n
    ON CONFLICT (shortcode, coalesce(domain, ''))
    DO UPDATE SET image_url = excluded.image_url,
                  static_url = excluded.static_url,
                  uri = excluded.uri,
                  image_content_type = excluded.image_content_type,
                  updated_at = now()
      WHERE custom_emojis.image_url IS DISTINCT FROM excluded.image_url
         OR custom_emojis.uri IS DISTINCT FROM excluded.uri;
END
$$;

-- A remote status: its emojis first, so that its text finds them
ALTER FUNCTION fedi_remote_status(jsonb, bigint, text, boolean)
    RENAME TO fedi_remote_status_before_emojis;

CREATE FUNCTION fedi_remote_status(p_obj jsonb, p_author bigint,
                                   p_base text, p_later boolean)
RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fedi_remote_emojis(p_author, p_obj);
    RETURN fedi_remote_status_before_emojis(p_obj, p_author, p_base,
                                            p_later);
END
$$;

-- An Update of a status: its emojis (maybe new images) before the edit,
-- and found again after it, when the text did not change
ALTER FUNCTION fedi_inbox_update(inbox_activities, text)
    RENAME TO fedi_inbox_update_before_emojis;

CREATE FUNCTION fedi_inbox_update(p_act inbox_activities, p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_outcome text;
    v_status  bigint;
BEGIN
    IF p_act.object IS NOT NULL
       AND p_act.object ->> 'type' IN ('Note', 'Question', 'Article',
                                       'Page')
    THEN
        PERFORM fedi_remote_emojis(p_act.account_id, p_act.object);
    END IF;

    v_outcome := fedi_inbox_update_before_emojis(p_act, p_base);

    IF v_outcome IN ('update status', 'update: unchanged') THEN
        SELECT id INTO v_status FROM statuses
         WHERE uri = p_act.object ->> 'id' AND account_id = p_act.account_id;
        IF v_status IS NOT NULL THEN
            PERFORM fedi_status_emojis_link(v_status);
        END IF;
    END IF;

    RETURN v_outcome;
END
$$;

-- An actor stored or updated: its emojis, then found in its profile
ALTER FUNCTION fedi_remote_account(jsonb, text, text)
    RENAME TO fedi_remote_account_before_emojis;

CREATE FUNCTION fedi_remote_account(p_actor jsonb, p_domain text,
                                    p_url text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    v_id := fedi_remote_account_before_emojis(p_actor, p_domain, p_url);

    IF v_id IS NOT NULL
       AND (p_actor ? 'tag'
            OR EXISTS (SELECT 1 FROM account_emojis WHERE account_id = v_id))
    THEN
        PERFORM fedi_remote_emojis(v_id, p_actor);
        PERFORM fedi_account_emojis_link(v_id);
    END IF;

    RETURN v_id;
END
$$;


-- Announcements, as Mastodon's: published when added; starts_at and
-- ends_at go together; text is what the operator wrote, content its HTML
-- (rendered by the module, as Mastodon's linkify).
CREATE TABLE announcements (
    id            bigint PRIMARY KEY DEFAULT fedi_id(),
    text          text NOT NULL CHECK (text <> ''),
    starts_at     timestamptz,
    ends_at       timestamptz,
    all_day       boolean NOT NULL DEFAULT false,
    published_at  timestamptz DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((starts_at IS NULL) = (ends_at IS NULL)),
    CHECK (ends_at IS NULL OR ends_at >= starts_at)
);

-- dismissed by an account: read
CREATE TABLE announcement_reads (
    account_id       bigint NOT NULL REFERENCES accounts (id)
                     ON DELETE CASCADE,
    announcement_id  bigint NOT NULL REFERENCES announcements (id)
                     ON DELETE CASCADE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (announcement_id, account_id)
);

-- name: a unicode emoji, or the shortcode of a local emoji
CREATE TABLE announcement_reactions (
    id               bigint PRIMARY KEY DEFAULT fedi_id(),
    announcement_id  bigint NOT NULL REFERENCES announcements (id)
                     ON DELETE CASCADE,
    account_id       bigint NOT NULL REFERENCES accounts (id)
                     ON DELETE CASCADE,
    name             text NOT NULL CHECK (name <> ''),
    custom_emoji_id  bigint REFERENCES custom_emojis (id) ON DELETE CASCADE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (announcement_id, account_id, name)
);

CREATE INDEX announcement_reactions_name
    ON announcement_reactions (announcement_id, name);

-- Reacting, as Mastodon's ReactionValidator: a local enabled emoji's
-- shortcode or (p_unicode, the module's judgement) a unicode emoji; at
-- most 8 different names on one announcement.  'ok', 'not_found' (no
-- such published announcement), 'unrecognized', 'limit', 'duplicate'.
CREATE FUNCTION fedi_announcement_react(p_account bigint,
                                        p_announcement bigint, p_name text,
                                        p_unicode boolean)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_emoji bigint;
BEGIN
    PERFORM 1 FROM announcements
     WHERE id = p_announcement AND published_at IS NOT NULL FOR SHARE;
    IF NOT FOUND THEN
        RETURN 'not_found';
    END IF;

    SELECT id INTO v_emoji FROM custom_emojis
     WHERE domain IS NULL AND NOT disabled AND shortcode = p_name;

    IF v_emoji IS NULL AND NOT p_unicode THEN
        RETURN 'unrecognized';
    END IF;

    -- one at a time per announcement, so that the limit holds
    PERFORM pg_advisory_xact_lock(hashtext('announcement:'
                                           || p_announcement));

    IF NOT EXISTS (SELECT 1 FROM announcement_reactions
                    WHERE announcement_id = p_announcement AND name = p_name)
       AND (SELECT count(DISTINCT name) FROM announcement_reactions
             WHERE announcement_id = p_announcement) >= 8
    THEN
        RETURN 'limit';
    END IF;

    INSERT INTO announcement_reactions (announcement_id, account_id, name,
                                        custom_emoji_id)
    VALUES (p_announcement, p_account, p_name, v_emoji)
    ON CONFLICT DO NOTHING;

    RETURN CASE WHEN FOUND THEN 'ok' ELSE 'duplicate' END;
END
$$;


-- Streaming: every user's user stream (one row naming them all, read
-- back one per account as sql/0029's); detail: a reaction's name
ALTER TABLE stream_events ADD COLUMN detail text;

CREATE FUNCTION fedi_stream_all_users()
RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(u.account_id ORDER BY u.account_id), '{}')
      FROM users u JOIN accounts a ON a.id = u.account_id
     WHERE NOT u.disabled AND a.suspended_at IS NULL
$$;

CREATE FUNCTION fedi_stream_announcements() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF fedi_stream_quiet() THEN
        RETURN NULL;
    END IF;

    IF TG_OP = 'DELETE' THEN
        IF OLD.published_at IS NOT NULL THEN
            INSERT INTO stream_events (stream, event, object_id, accounts)
            VALUES ('user:*', 'announcement.delete', OLD.id,
                    fedi_stream_all_users());
        END IF;

    ELSIF NEW.published_at IS NOT NULL
          AND (TG_OP = 'INSERT' OR OLD.published_at IS NULL)
    THEN
        INSERT INTO stream_events (stream, event, object_id, accounts)
        VALUES ('user:*', 'announcement', NEW.id, fedi_stream_all_users());
    END IF;

    RETURN NULL;
END
$$;

CREATE TRIGGER announcements_stream AFTER INSERT OR UPDATE OF published_at
    OR DELETE ON announcements
    FOR EACH ROW EXECUTE FUNCTION fedi_stream_announcements();

-- a reaction added or taken back: the name's new count, for all (not
-- when its announcement goes, as Mastodon)
CREATE FUNCTION fedi_stream_announcement_reactions() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_r announcement_reactions;
BEGIN
    IF fedi_stream_quiet() THEN
        RETURN NULL;
    END IF;

    v_r := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;

    IF EXISTS (SELECT 1 FROM announcements
                WHERE id = v_r.announcement_id
                  AND published_at IS NOT NULL) THEN
        INSERT INTO stream_events (stream, event, object_id, accounts,
                                   detail)
        VALUES ('user:*', 'announcement.reaction', v_r.announcement_id,
                fedi_stream_all_users(), v_r.name);
    END IF;

    RETURN NULL;
END
$$;

CREATE TRIGGER announcement_reactions_stream
    AFTER INSERT OR DELETE ON announcement_reactions
    FOR EACH ROW EXECUTE FUNCTION fedi_stream_announcement_reactions();
