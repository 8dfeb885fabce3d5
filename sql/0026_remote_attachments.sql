-- Attachments of remote statuses: a Note's `attachment` (Document, Image,
-- Video, Audio) becomes media_attachments rows described by the Note and
-- shown by their remote URL (sql/0019 describes the shape), at most four
-- as Mastodon keeps, none from a domain blocked with reject_media.  An
-- edit (Update) brings the status's attachments in line with the Note.

-- a media type's attachment type, as Mastodon's MediaAttachment
CREATE FUNCTION fedi_media_type_of(p_mime text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_mime LIKE 'image/%' THEN 'image'
                WHEN p_mime LIKE 'video/%' THEN 'video'
                WHEN p_mime LIKE 'audio/%' THEN 'audio'
                ELSE 'unknown' END
$$;

-- a non-negative integer of a JSON value, or NULL
CREATE FUNCTION fedi_jint(p jsonb)
RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(p) = 'number'
                     AND (p #>> '{}') ~ '^[0-9]{1,6}$'
                THEN (p #>> '{}')::integer END
$$;

-- a focal point coordinate, -1..1, or NULL
CREATE FUNCTION fedi_jfocus(p jsonb)
RETURNS real
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(p) = 'number'
                THEN greatest(-1, least(1, (p #>> '{}')::real)) END
$$;

CREATE FUNCTION fedi_remote_attachments(p_status bigint, p_obj jsonb)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_author accounts;
    v_list   jsonb := '[]';
BEGIN
    SELECT a.* INTO v_author FROM statuses s
      JOIN accounts a ON a.id = s.account_id
     WHERE s.id = p_status AND a.domain IS NOT NULL;

    IF NOT FOUND THEN
        RETURN;
    END IF;

    IF NOT coalesce((SELECT reject_media
                       FROM fedi_domain_block(v_author.domain)), false)
    THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'position', n - 1, 'url', u,
                   'mime', left(o ->> 'mediaType', 100),
                   'name', left(o ->> 'name', 1500),
                   'blurhash', CASE WHEN (o ->> 'blurhash')
                       ~ '^[0-9A-Za-z#$%*+,.:;=?@^_{|}~\[\]-]{6,100}$'
                       THEN o ->> 'blurhash' END,
                   'width', fedi_jint(o -> 'width'),
                   'height', fedi_jint(o -> 'height'),
                   'fx', fedi_jfocus(o #> '{focalPoint,0}'),
                   'fy', fedi_jfocus(o #> '{focalPoint,1}')) ORDER BY n),
               '[]')
          INTO v_list
          FROM (SELECT o, n, u FROM (
                  SELECT o, n, coalesce(fedi_https_url(o -> 'url'),
                                        fedi_https_url(o #> '{url,href}'),
                                        fedi_https_url(o #> '{url,0,href}'),
                                        fedi_https_url(o #> '{url,0}')) u
                    FROM jsonb_array_elements(
                           CASE jsonb_typeof(p_obj -> 'attachment')
                                WHEN 'array' THEN p_obj -> 'attachment'
                                WHEN 'object' THEN
                                     jsonb_build_array(p_obj -> 'attachment')
                                ELSE '[]' END)
                         WITH ORDINALITY e(o, n)
                   WHERE jsonb_typeof(o) = 'object'
                     AND o ->> 'type' IN ('Document', 'Image', 'Video',
                                          'Audio')) x
                 WHERE u IS NOT NULL
                 ORDER BY n LIMIT 4) y;
    END IF;

    -- what the Note no longer has goes (the row, never a file: none here)
    DELETE FROM media_attachments m
     WHERE m.status_id = p_status AND m.remote_url IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(v_list) f
                        WHERE f ->> 'url' = m.remote_url);

    INSERT INTO media_attachments (account_id, status_id, position, type,
                                   content_type, remote_url, description,
                                   blurhash, meta, focus_x, focus_y,
                                   processed)
    SELECT DISTINCT ON (f.url)
           v_author.id, p_status, f.position, fedi_media_type_of(f.mime),
           f.mime, f.url, f.name, f.blurhash,
           CASE WHEN f.width > 0 AND f.height > 0
                THEN jsonb_build_object('original', jsonb_build_object(
                         'width', f.width, 'height', f.height,
                         'size', f.width || 'x' || f.height,
                         'aspect', f.width::real / f.height))
                ELSE '{}' END,
           f.fx, f.fy, true
      FROM jsonb_to_recordset(v_list) AS f(position smallint, url text,
               mime text, name text, blurhash text, width integer,
               height integer, fx real, fy real)
     ORDER BY f.url, f.position
    ON CONFLICT (status_id, remote_url) WHERE remote_url IS NOT NULL
    DO UPDATE SET position = excluded.position,
                  description = excluded.description,
                  blurhash = excluded.blurhash, meta = excluded.meta,
                  focus_x = excluded.focus_x, focus_y = excluded.focus_y,
                  updated_at = now();
END
$$;

-- Create (and the statuses an Announce fetches): the status, then its
-- attachments
ALTER FUNCTION fedi_remote_status(jsonb, bigint, text, boolean)
    RENAME TO fedi_remote_status_text;

CREATE FUNCTION fedi_remote_status(p_obj jsonb, p_author bigint,
                                   p_base text, p_later boolean)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    v_id := fedi_remote_status_text(p_obj, p_author, p_base, p_later);

    IF v_id IS NOT NULL AND p_obj ? 'attachment'
       AND NOT EXISTS (SELECT 1 FROM media_attachments
                        WHERE status_id = v_id)
    THEN
        PERFORM fedi_remote_attachments(v_id, p_obj);
    END IF;

    RETURN v_id;
END
$$;

-- Update: an edit brings the attachments along
ALTER FUNCTION fedi_inbox_update(inbox_activities, text)
    RENAME TO fedi_inbox_update_text;

CREATE FUNCTION fedi_inbox_update(p_act inbox_activities, p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_outcome text;
    v_status  bigint;
BEGIN
    v_outcome := fedi_inbox_update_text(p_act, p_base);

    IF v_outcome IN ('update status', 'update: unchanged')
       AND (p_act.object ? 'attachment'
            OR EXISTS (SELECT 1 FROM media_attachments m
                         JOIN statuses s ON s.id = m.status_id
                        WHERE s.uri = p_act.object ->> 'id'))
    THEN
        SELECT id INTO v_status FROM statuses
         WHERE uri = p_act.object ->> 'id' AND account_id = p_act.account_id;
        PERFORM fedi_remote_attachments(v_status, p_act.object);
    END IF;

    RETURN v_outcome;
END
$$;
