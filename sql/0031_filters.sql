-- Filters, as Mastodon 4 keeps them: a filter (title, the contexts it
-- applies in, its action, an optional expiry) holds keywords and statuses.
-- The v1 API sees one filter per keyword.  The writes are functions that
-- take the request's parameters as they were decoded (Rails' nested keys
-- already folded into JSON), check them as Mastodon's models do and raise
-- 'filter:422:<message>' or 'filter:404:Record not found', so a request
-- either writes everything or nothing.
--
-- A change tells the owner's streams (filters_changed) and drops the
-- workers' cached tokens of the account, whose has-filters flag decides
-- whether statuses are matched at all.

CREATE TABLE custom_filters (
    id          bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    title       text NOT NULL,
    context     text[] NOT NULL,
    action      text NOT NULL DEFAULT 'warn'
                CHECK (action IN ('warn', 'hide', 'blur')),
    expires_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX custom_filters_account ON custom_filters (account_id, id);

CREATE TABLE custom_filter_keywords (
    id                bigint PRIMARY KEY DEFAULT fedi_id(),
    custom_filter_id  bigint NOT NULL REFERENCES custom_filters (id)
                      ON DELETE CASCADE,
    keyword           text NOT NULL,
    whole_word        boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX custom_filter_keywords_filter
    ON custom_filter_keywords (custom_filter_id, id);

CREATE TABLE custom_filter_statuses (
    id                bigint PRIMARY KEY DEFAULT fedi_id(),
    custom_filter_id  bigint NOT NULL REFERENCES custom_filters (id)
                      ON DELETE CASCADE,
    status_id         bigint NOT NULL REFERENCES statuses (id)
                      ON DELETE CASCADE,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (custom_filter_id, status_id)
);

CREATE INDEX custom_filter_statuses_status
    ON custom_filter_statuses (status_id);


-- One filters_changed per account and transaction (a filter saved with
-- its keywords is one change), and the account's cached tokens dropped.
CREATE FUNCTION fedi_filters_changed(acc bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF acc IS NULL THEN
        RETURN;
    END IF;

    PERFORM fedi_cache_notify('account:' || acc);

    IF fedi_stream_quiet() THEN
        RETURN;
    END IF;

    INSERT INTO stream_events (stream, event, object_id)
    SELECT 'user:' || acc, 'filters_changed', acc
     WHERE NOT EXISTS (SELECT 1 FROM stream_events
                        WHERE stream = 'user:' || acc
                          AND event = 'filters_changed'
                          AND created_at = now());
END
$$;

CREATE FUNCTION fedi_filter_touched() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r  record;
BEGIN
    r := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;

    IF TG_TABLE_NAME = 'custom_filters' THEN
        PERFORM fedi_filters_changed(r.account_id);
    ELSE
        /* a filter deleted with its rules has said so itself */
        PERFORM fedi_filters_changed((SELECT account_id FROM custom_filters
                                       WHERE id = r.custom_filter_id));
    END IF;

    RETURN NULL;
END
$$;

CREATE TRIGGER custom_filters_touched
    AFTER INSERT OR UPDATE OR DELETE ON custom_filters
    FOR EACH ROW EXECUTE FUNCTION fedi_filter_touched();

CREATE TRIGGER custom_filter_keywords_touched
    AFTER INSERT OR UPDATE OR DELETE ON custom_filter_keywords
    FOR EACH ROW EXECUTE FUNCTION fedi_filter_touched();

CREATE TRIGGER custom_filter_statuses_touched
    AFTER INSERT OR UPDATE OR DELETE ON custom_filter_statuses
    FOR EACH ROW EXECUTE FUNCTION fedi_filter_touched();


-- A parameter as Rails' ActiveModel::Type::Boolean reads it: NULL when
-- absent, null or "" (not given).
CREATE FUNCTION fedi_param_bool(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN v IS NULL OR jsonb_typeof(v) = 'null' THEN NULL
        WHEN jsonb_typeof(v) = 'boolean' THEN v::text::boolean
        WHEN jsonb_typeof(v) = 'string' THEN
            CASE WHEN v #>> '{}' = '' THEN NULL
                 ELSE v #>> '{}' NOT IN ('0', 'f', 'F', 'false', 'FALSE',
                                         'off', 'OFF') END
        WHEN jsonb_typeof(v) = 'number' THEN v::text::numeric <> 0
                                           OR v::text LIKE '%.%'
        ELSE true END
$$;

-- expires_in: seconds from now, as Mastodon's Expireable (to_i: leading
-- digits, else 0); NULL for "" or null (never).
CREATE FUNCTION fedi_param_expiry(v jsonb) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN v IS NULL OR jsonb_typeof(v) = 'null' OR v #>> '{}' = ''
            THEN NULL
        ELSE now() + make_interval(secs => least(coalesce(substring(
                 btrim(v #>> '{}') FROM '^[+-]?[0-9]{1,12}')::bigint, 0),
                 3153600000)) END
$$;

-- context[]: a list of strings (or one), trimmed, blanks dropped
CREATE FUNCTION fedi_param_contexts(v jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_agg(btrim(x)) FILTER (WHERE btrim(x) <> ''), '{}')
      FROM jsonb_array_elements_text(CASE jsonb_typeof(v)
               WHEN 'array' THEN v WHEN 'string' THEN jsonb_build_array(v)
               ELSE '[]' END) x
$$;

-- Mastodon's validations of a filter, as "Validation failed: ..."
CREATE FUNCTION fedi_filter_check(title text, ctx text[], action text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    errs  text[] := '{}';
BEGIN
    IF coalesce(btrim(title), '') = '' THEN
        errs := errs || 'Title can''t be blank'::text;
    END IF;

    IF cardinality(ctx) = 0 THEN
        errs := errs || 'Context can''t be blank'::text;
    END IF;

    IF cardinality(ctx) = 0 OR NOT ctx <@ ARRAY['home', 'notifications',
                                               'public', 'thread', 'account']
    THEN
        errs := errs || 'Context None or invalid context supplied'::text;
    END IF;

    IF action NOT IN ('warn', 'hide', 'blur') THEN
        errs := errs || 'Filter action is not included in the list'::text;
    END IF;

    IF cardinality(errs) > 0 THEN
        RAISE EXCEPTION 'filter:422:Validation failed: %',
            array_to_string(errs, ', ');
    END IF;
END
$$;


-- POST /api/v2/filters (fid NULL) and PUT /api/v2/filters/:id: title,
-- context[], filter_action, expires_in and keywords_attributes[] (id,
-- keyword, whole_word, _destroy; a list or a hash of them, as Rails'
-- nested attributes take).  Answers the filter's id.
CREATE FUNCTION fedi_filter_save(acc bigint, fid bigint, p jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    f      custom_filters;
    ttl    text;
    ctx    text[];
    act    text;
    exp    timestamptz;
    ka     jsonb;
    k      jsonb;
    kid    bigint;
    kw     text;
    ww     boolean;
    errs   text[] := '{}';
BEGIN
    IF fid IS NOT NULL THEN
        SELECT * INTO f FROM custom_filters
         WHERE id = fid AND account_id = acc FOR UPDATE;

        IF NOT FOUND THEN
            RAISE EXCEPTION 'filter:404:Record not found';
        END IF;
    END IF;

    ttl := CASE WHEN p ? 'title' THEN coalesce(p ->> 'title', '')
                ELSE coalesce(f.title, '') END;
    ctx := CASE WHEN p ? 'context' THEN fedi_param_contexts(p -> 'context')
                WHEN p ? 'context[]'
                    THEN fedi_param_contexts(p -> 'context[]')
                ELSE coalesce(f.context, '{}') END;
    act := coalesce(nullif(p ->> 'filter_action', ''), f.action, 'warn');
    exp := CASE WHEN p ? 'expires_in' THEN fedi_param_expiry(p -> 'expires_in')
                ELSE f.expires_at END;

    PERFORM fedi_filter_check(ttl, ctx, act);

    IF fid IS NULL THEN
        INSERT INTO custom_filters (account_id, title, context, action,
                                    expires_at)
        VALUES (acc, ttl, ctx, act, exp)
        RETURNING id INTO fid;
    ELSE
        UPDATE custom_filters
           SET title = ttl, context = ctx, action = act, expires_at = exp,
               updated_at = now()
         WHERE id = fid
           AND (title, context, action, expires_at)
               IS DISTINCT FROM (ttl, ctx, act, exp);
    END IF;

    ka := coalesce(p -> 'keywords_attributes', p -> 'keywords_attributes[]');
    ka := CASE jsonb_typeof(ka)
              WHEN 'array' THEN ka
              WHEN 'object' THEN (SELECT coalesce(jsonb_agg(v ORDER BY
                                      CASE WHEN key ~ '^[0-9]{1,9}$'
                                           THEN key::integer END, key), '[]')
                                    FROM jsonb_each(ka) e(key, v))
              ELSE '[]' END;

    FOR k IN SELECT * FROM jsonb_array_elements(ka) LOOP
        IF jsonb_typeof(k) <> 'object' THEN
            CONTINUE;
        END IF;

        /* reject_if: :all_blank */
        IF NOT EXISTS (SELECT 1 FROM jsonb_each(k) e(key, v)
                        WHERE jsonb_typeof(v) NOT IN ('null')
                          AND v <> '""'::jsonb AND v <> '[]'::jsonb
                          AND v <> '{}'::jsonb)
        THEN
            CONTINUE;
        END IF;

        kid := NULL;

        IF nullif(k ->> 'id', '') IS NOT NULL THEN
            SELECT id INTO kid FROM custom_filter_keywords
             WHERE custom_filter_id = fid
               AND id::text = k ->> 'id';

            IF kid IS NULL THEN
                RAISE EXCEPTION 'filter:404:Record not found';
            END IF;
        END IF;

        IF coalesce(fedi_param_bool(k -> '_destroy'), false) THEN
            DELETE FROM custom_filter_keywords WHERE id = kid;
            CONTINUE;
        END IF;

        ww := fedi_param_bool(k -> 'whole_word');

        IF kid IS NULL THEN
            kw := coalesce(k ->> 'keyword', '');

            IF btrim(kw) = '' THEN
                errs := errs || 'Keywords keyword can''t be blank'::text;
                CONTINUE;
            END IF;

            INSERT INTO custom_filter_keywords (custom_filter_id, keyword,
                                                whole_word)
            VALUES (fid, kw, coalesce(ww, true));
        ELSE
            IF k ? 'keyword' AND btrim(coalesce(k ->> 'keyword', '')) = ''
            THEN
                errs := errs || 'Keywords keyword can''t be blank'::text;
                CONTINUE;
            END IF;

            UPDATE custom_filter_keywords
               SET keyword = coalesce(k ->> 'keyword', keyword),
                   whole_word = coalesce(ww, whole_word),
                   updated_at = now()
             WHERE id = kid;
        END IF;
    END LOOP;

    IF cardinality(errs) > 0 THEN
        RAISE EXCEPTION 'filter:422:Validation failed: %',
            array_to_string(errs, ', ');
    END IF;

    RETURN fid;
END
$$;


-- v1: POST /api/v1/filters (kid NULL) makes a filter of one keyword, the
-- phrase its title and keyword; PUT /api/v1/filters/:id (the keyword's
-- id) changes the keyword, and the filter's context, irreversible
-- (hide) and expiry unless it has more keywords.  Answers the keyword.
CREATE FUNCTION fedi_filter_v1_save(acc bigint, kid bigint, p jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    f      custom_filters;
    kw     custom_filter_keywords;
    phr    text;
    ctx    text[];
    act    text;
    exp    timestamptz;
    ww     boolean;
    irr    boolean;
BEGIN
    phr := p ->> 'phrase';
    ww := fedi_param_bool(p -> 'whole_word');
    irr := fedi_param_bool(p -> 'irreversible');

    IF kid IS NULL THEN
        ctx := fedi_param_contexts(coalesce(p -> 'context',
                                            p -> 'context[]'));
        act := CASE WHEN coalesce(irr, false) THEN 'hide' ELSE 'warn' END;

        PERFORM fedi_filter_check(phr, ctx, act);

        INSERT INTO custom_filters (account_id, title, context, action,
                                    expires_at)
        VALUES (acc, phr, ctx, act, fedi_param_expiry(p -> 'expires_in'))
        RETURNING * INTO f;

        INSERT INTO custom_filter_keywords (custom_filter_id, keyword,
                                            whole_word)
        VALUES (f.id, phr, coalesce(ww, true))
        RETURNING id INTO kid;

        RETURN kid;
    END IF;

    SELECT k.* INTO kw FROM custom_filter_keywords k
      JOIN custom_filters cf ON cf.id = k.custom_filter_id
     WHERE k.id = kid AND cf.account_id = acc FOR UPDATE OF k;

    IF NOT FOUND THEN
        RAISE EXCEPTION 'filter:404:Record not found';
    END IF;

    SELECT * INTO f FROM custom_filters WHERE id = kw.custom_filter_id
       FOR UPDATE;

    IF p ? 'phrase' AND btrim(coalesce(phr, '')) = '' THEN
        RAISE EXCEPTION 'filter:422:Validation failed: Keyword can''t be blank';
    END IF;

    UPDATE custom_filter_keywords
       SET keyword = coalesce(phr, keyword),
           whole_word = coalesce(ww, whole_word), updated_at = now()
     WHERE id = kid;

    ctx := CASE WHEN p ? 'context' OR p ? 'context[]'
                THEN fedi_param_contexts(coalesce(p -> 'context',
                                                  p -> 'context[]'))
                ELSE f.context END;
    act := CASE WHEN irr IS NULL THEN f.action
                WHEN irr THEN 'hide' ELSE 'warn' END;
    exp := CASE WHEN p ? 'expires_in' THEN fedi_param_expiry(p -> 'expires_in')
                ELSE f.expires_at END;

    IF (ctx, act, exp) IS DISTINCT FROM (f.context, f.action, f.expires_at)
    THEN
        IF (SELECT count(*) FROM custom_filter_keywords
             WHERE custom_filter_id = f.id) > 1
        THEN
            RAISE EXCEPTION 'filter:422:These parameters cannot be changed '
                'from this application because they apply to more than one '
                'filter keyword. Use a more recent application or the web '
                'interface.';
        END IF;

        PERFORM fedi_filter_check(f.title, ctx, act);

        UPDATE custom_filters
           SET context = ctx, action = act, expires_at = exp,
               updated_at = now()
         WHERE id = f.id;
    END IF;

    RETURN kid;
END
$$;


-- POST /api/v2/filters/:id/keywords (kid NULL) and PUT
-- /api/v2/filters/keywords/:id; answers the keyword's id
CREATE FUNCTION fedi_filter_keyword_save(acc bigint, fid bigint, kid bigint,
    p jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    kw  text;
    ww  boolean;
BEGIN
    kw := p ->> 'keyword';
    ww := fedi_param_bool(p -> 'whole_word');

    IF kid IS NULL THEN
        PERFORM 1 FROM custom_filters WHERE id = fid AND account_id = acc;
    ELSE
        PERFORM 1 FROM custom_filter_keywords k
          JOIN custom_filters cf ON cf.id = k.custom_filter_id
         WHERE k.id = kid AND cf.account_id = acc;
    END IF;

    IF NOT FOUND THEN
        RAISE EXCEPTION 'filter:404:Record not found';
    END IF;

    IF (kid IS NULL OR p ? 'keyword') AND btrim(coalesce(kw, '')) = '' THEN
        RAISE EXCEPTION 'filter:422:Validation failed: Keyword can''t be blank';
    END IF;

    IF kid IS NULL THEN
        INSERT INTO custom_filter_keywords (custom_filter_id, keyword,
                                            whole_word)
        VALUES (fid, kw, coalesce(ww, true))
        RETURNING id INTO kid;
    ELSE
        UPDATE custom_filter_keywords
           SET keyword = coalesce(kw, keyword),
               whole_word = coalesce(ww, whole_word), updated_at = now()
         WHERE id = kid;
    END IF;

    RETURN kid;
END
$$;


-- POST /api/v2/filters/:id/statuses: a status the owner may see, once
CREATE FUNCTION fedi_filter_status_add(acc bigint, fid bigint, sid text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    s    statuses;
    fsid bigint;
BEGIN
    PERFORM 1 FROM custom_filters WHERE id = fid AND account_id = acc;

    IF NOT FOUND THEN
        RAISE EXCEPTION 'filter:404:Record not found';
    END IF;

    IF coalesce(sid, '') !~ '^[0-9]{1,19}$' THEN
        RAISE EXCEPTION 'filter:422:Validation failed: Status must exist';
    END IF;

    SELECT * INTO s FROM statuses
     WHERE id = sid::numeric AND deleted_at IS NULL;

    IF NOT FOUND THEN
        RAISE EXCEPTION 'filter:422:Validation failed: Status must exist';
    END IF;

    IF NOT fedi_status_visible(s.id, s.account_id, s.visibility, acc) THEN
        RAISE EXCEPTION 'filter:422:Validation failed: Status is invalid';
    END IF;

    INSERT INTO custom_filter_statuses (custom_filter_id, status_id)
    VALUES (fid, s.id)
    ON CONFLICT DO NOTHING
    RETURNING id INTO fsid;

    IF fsid IS NULL THEN
        RAISE EXCEPTION
            'filter:422:Validation failed: Status has already been taken';
    END IF;

    RETURN fsid;
END
$$;
