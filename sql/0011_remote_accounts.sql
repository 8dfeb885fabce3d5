-- Remote accounts from their ActivityPub actor documents.

-- the id of a remote account's key, to find the account by a signature's
-- keyId
ALTER TABLE accounts ADD COLUMN public_key_id text;
CREATE INDEX accounts_public_key_id ON accounts (public_key_id)
    WHERE public_key_id IS NOT NULL;

-- Remote HTML as plain text in a paragraph: tags dropped, the common
-- entities read, the rest escaped again.  (A full sanitizer that keeps
-- links and line breaks comes with remote statuses.)
CREATE FUNCTION fedi_remote_text(p_html text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(replace(replace(replace(replace(replace(replace(replace(
               regexp_replace(regexp_replace(coalesce(p_html, ''),
                   '<(br|/p)\s*/?>', E'\n', 'gi'), '<[^>]*>?', '', 'g'),
               '&lt;', '<'), '&gt;', '>'), '&quot;', '"'), '&#39;', ''''),
               '&amp;', '&'),
           '&', '&amp;'), '<', '&lt;'), '>', '&gt;')
$$;

CREATE FUNCTION fedi_remote_note(p_html text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN btrim(t) = '' THEN ''
                ELSE '<p>' || replace(btrim(t, E' \n'), E'\n', '<br />')
                     || '</p>' END
      FROM (SELECT fedi_remote_text(p_html) AS t) x
$$;

-- an https URL, or NULL
CREATE FUNCTION fedi_https_url(p jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(p) = 'string'
                 AND length(p #>> '{}') <= 2048
                 AND (p #>> '{}') ~ '^https://[^/@\s]+(/\S*)?$'
                THEN p #>> '{}' END
$$;

-- a JSON boolean, or NULL
CREATE FUNCTION fedi_jbool(p jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(p) = 'boolean' THEN (p #>> '{}')::boolean END
$$;

-- The actor $1 fetched from $3 (after redirects) for an account of
-- domain $2: stored or updated; its id, or NULL when the document is not
-- an actor of that domain at that URL.
CREATE FUNCTION fedi_remote_account(p_actor jsonb, p_domain text,
                                    p_url text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id        bigint;
    v_uri       text := p_actor ->> 'id';
    v_username  text := p_actor ->> 'preferredUsername';
    v_type      text := p_actor ->> 'type';
    v_inbox     text := fedi_https_url(p_actor -> 'inbox');
    v_key       text := p_actor #>> '{publicKey,publicKeyPem}';
    v_domain    text := lower(rtrim(p_domain, '.'));
BEGIN
    IF jsonb_typeof(p_actor) <> 'object'
       OR p_actor ?| ARRAY['@graph', '@included', '@reverse']
       OR v_uri IS DISTINCT FROM p_url
       OR fedi_https_url(p_actor -> 'id') IS NULL
       OR lower(split_part(substr(v_uri, 9), '/', 1)) <> v_domain
       OR v_type NOT IN ('Person', 'Service', 'Group', 'Organization',
                         'Application')
       OR v_username IS NULL OR v_username !~ '^[A-Za-z0-9_.-]{1,64}$'
       OR v_inbox IS NULL
       OR (p_actor #>> '{publicKey,owner}') IS DISTINCT FROM v_uri
       OR fedi_https_url(p_actor #> '{publicKey,id}') IS NULL
       OR lower(split_part(substr(p_actor #>> '{publicKey,id}', 9), '/', 1))
          <> v_domain
       OR v_key IS NULL OR v_key NOT LIKE '-----BEGIN %'
    THEN
        RETURN NULL;
    END IF;

    INSERT INTO accounts (username, domain, uri, url, display_name, note,
                          inbox_url, shared_inbox_url, outbox_url,
                          followers_url, following_url, featured_url,
                          public_key, public_key_id, actor_type, locked,
                          discoverable,
                          indexable, avatar_remote_url, header_remote_url,
                          last_webfingered_at)
    VALUES (v_username, v_domain, v_uri,
            coalesce(fedi_https_url(p_actor -> 'url'), v_uri),
            left(fedi_remote_text(p_actor ->> 'name'), 100),
            left(fedi_remote_note(p_actor ->> 'summary'), 10000),
            v_inbox,
            coalesce(fedi_https_url(p_actor #> '{endpoints,sharedInbox}'), ''),
            coalesce(fedi_https_url(p_actor -> 'outbox'), ''),
            coalesce(fedi_https_url(p_actor -> 'followers'), ''),
            coalesce(fedi_https_url(p_actor -> 'following'), ''),
            coalesce(fedi_https_url(p_actor -> 'featured'), ''),
            v_key, p_actor #>> '{publicKey,id}',
            CASE WHEN v_type IN ('Service', 'Application') THEN 'Service'
                 WHEN v_type = 'Group' THEN 'Group' ELSE 'Person' END,
            coalesce(fedi_jbool(p_actor -> 'manuallyApprovesFollowers'),
                     false),
            fedi_jbool(p_actor -> 'discoverable'),
            coalesce(fedi_jbool(p_actor -> 'indexable'), false),
            fedi_https_url(p_actor #> '{icon,url}'),
            fedi_https_url(p_actor #> '{image,url}'),
            now())
    ON CONFLICT (lower(username), lower(coalesce(domain, '')))
    DO UPDATE SET uri = excluded.uri, url = excluded.url,
                  display_name = excluded.display_name,
                  note = excluded.note, inbox_url = excluded.inbox_url,
                  shared_inbox_url = excluded.shared_inbox_url,
                  outbox_url = excluded.outbox_url,
                  followers_url = excluded.followers_url,
                  following_url = excluded.following_url,
                  featured_url = excluded.featured_url,
                  public_key = excluded.public_key,
                  public_key_id = excluded.public_key_id,
                  actor_type = excluded.actor_type,
                  locked = excluded.locked,
                  discoverable = excluded.discoverable,
                  indexable = excluded.indexable,
                  avatar_remote_url = excluded.avatar_remote_url,
                  header_remote_url = excluded.header_remote_url,
                  last_webfingered_at = now(), updated_at = now()
    RETURNING id INTO v_id;

    RETURN v_id;
END
$$;
