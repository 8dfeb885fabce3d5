-- The remote media cache (fedi_media_cache on, fedi_media_cache.c):
-- attachments of remote statuses and remote accounts' avatars and
-- headers are fetched by the workers, off the request path, processed
-- like uploads and then served from fedi_media_root; remote_url keeps the
-- origin's address.
--
-- Jobs: a row in media_cache_jobs per file to fetch, written by the
-- triggers below in the transaction that stores the attachment or the
-- profile (the inbox's processing, a fetch), announced by NOTIFY
-- fedi_media_cache at its commit.  A worker claims a few (next_at moved
-- by a lease, so a job lost with its worker comes back), fetches,
-- processes on the thread pool and reports with fedi_media_cache_done()
-- or fedi_media_cache_failed() (a bounded number of attempts, with
-- backoff).
--
-- Jobs are written only while some worker has the cache on: the workers
-- that drain the queue say so in media_cache_on each time they look
-- (a lease of five minutes), so an instance with the cache off queues
-- nothing.
--
-- Files no row uses any more (a cached attachment deleted, an avatar
-- replaced) go to media_cache_trash; the workers remove them from disk.

ALTER TABLE media_attachments ADD COLUMN cached_at timestamptz;

COMMENT ON COLUMN media_attachments.cached_at IS
    'a remote attachment whose file_path holds our copy: since when';

CREATE INDEX media_attachments_cached ON media_attachments (cached_at)
    WHERE cached_at IS NOT NULL;

CREATE TABLE media_cache_jobs (
    id          bigint PRIMARY KEY DEFAULT fedi_id(),
    kind        text NOT NULL
                CHECK (kind IN ('attachment', 'avatar', 'header')),
    media_id    bigint REFERENCES media_attachments (id) ON DELETE CASCADE,
    account_id  bigint REFERENCES accounts (id) ON DELETE CASCADE,
    url         text NOT NULL,
    attempts    smallint NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL DEFAULT now(),   -- or leased until
    CHECK ((kind = 'attachment') = (media_id IS NOT NULL)),
    CHECK ((kind = 'attachment') = (account_id IS NULL))
);

CREATE UNIQUE INDEX media_cache_jobs_media ON media_cache_jobs (media_id)
    WHERE media_id IS NOT NULL;
CREATE UNIQUE INDEX media_cache_jobs_account
    ON media_cache_jobs (account_id, kind) WHERE account_id IS NOT NULL;
CREATE INDEX media_cache_jobs_due ON media_cache_jobs (next_at);

CREATE TABLE media_cache_trash (
    path        text PRIMARY KEY
);

CREATE TABLE media_cache_on (
    id          integer PRIMARY KEY CHECK (id = 1),
    until       timestamptz NOT NULL
);


CREATE FUNCTION fedi_media_cache_enabled()
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM media_cache_on WHERE until > now())
$$;


-- a job for a file of a remote account's domain, unless that domain is
-- blocked with reject_media (or suspended)
CREATE FUNCTION fedi_media_cache_queue(p_kind text, p_media bigint,
                                       p_account bigint, p_url text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_domain text;
BEGIN
    SELECT domain INTO v_domain FROM accounts WHERE id = p_account;

    IF v_domain IS NULL OR p_url IS NULL
       OR EXISTS (SELECT 1 FROM fedi_domain_block(v_domain) b
                   WHERE b.reject_media OR b.severity = 'suspend')
    THEN
        RETURN;
    END IF;

    IF p_kind = 'attachment' THEN
        INSERT INTO media_cache_jobs (kind, media_id, url)
        VALUES (p_kind, p_media, p_url)
        ON CONFLICT (media_id) WHERE media_id IS NOT NULL DO NOTHING;
    ELSE
        INSERT INTO media_cache_jobs (kind, account_id, url)
        VALUES (p_kind, p_account, p_url)
        ON CONFLICT (account_id, kind) WHERE account_id IS NOT NULL
        DO UPDATE SET url = excluded.url, attempts = 0, next_at = now();
    END IF;

    PERFORM pg_notify('fedi_media_cache', '');
END
$$;


-- a remote attachment stored: fetch it
CREATE FUNCTION fedi_media_cache_attachment() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF fedi_media_cache_enabled() THEN
        PERFORM fedi_media_cache_queue('attachment', NEW.id, NEW.account_id,
                                       NEW.remote_url);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER media_attachments_cache AFTER INSERT ON media_attachments
    FOR EACH ROW WHEN (NEW.remote_url IS NOT NULL AND NEW.file_path IS NULL)
    EXECUTE FUNCTION fedi_media_cache_attachment();


-- a cached attachment deleted: its files go
CREATE FUNCTION fedi_media_cache_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO media_cache_trash (path)
    SELECT p FROM unnest(ARRAY[OLD.file_path, OLD.preview_path]) p
     WHERE p IS NOT NULL
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER media_attachments_cache_gone AFTER DELETE
    ON media_attachments
    FOR EACH ROW WHEN (OLD.cached_at IS NOT NULL)
    EXECUTE FUNCTION fedi_media_cache_gone();


-- a remote account's avatar or header changed: our copy of the old one
-- goes (it shows the remote URL until the new one is here)
CREATE FUNCTION fedi_media_cache_profile_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.avatar_remote_url IS DISTINCT FROM OLD.avatar_remote_url
       AND OLD.avatar_file IS NOT NULL
    THEN
        INSERT INTO media_cache_trash VALUES (OLD.avatar_file)
        ON CONFLICT DO NOTHING;
        NEW.avatar_file := NULL;
    END IF;

    IF NEW.header_remote_url IS DISTINCT FROM OLD.header_remote_url
       AND OLD.header_file IS NOT NULL
    THEN
        INSERT INTO media_cache_trash VALUES (OLD.header_file)
        ON CONFLICT DO NOTHING;
        NEW.header_file := NULL;
    END IF;

    RETURN NEW;
END
$$;

CREATE TRIGGER accounts_cache_changed
    BEFORE UPDATE OF avatar_remote_url, header_remote_url ON accounts
    FOR EACH ROW WHEN (NEW.domain IS NOT NULL)
    EXECUTE FUNCTION fedi_media_cache_profile_changed();


-- a remote profile stored or refreshed without our copy: fetch it
CREATE FUNCTION fedi_media_cache_profile() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT fedi_media_cache_enabled() THEN
        RETURN NULL;
    END IF;

    IF NEW.avatar_remote_url IS NOT NULL AND NEW.avatar_file IS NULL THEN
        PERFORM fedi_media_cache_queue('avatar', NULL, NEW.id,
                                       NEW.avatar_remote_url);
    END IF;

    IF NEW.header_remote_url IS NOT NULL AND NEW.header_file IS NULL THEN
        PERFORM fedi_media_cache_queue('header', NULL, NEW.id,
                                       NEW.header_remote_url);
    END IF;

    RETURN NULL;
END
$$;

CREATE TRIGGER accounts_cache
    AFTER INSERT OR UPDATE OF avatar_remote_url, header_remote_url
    ON accounts
    FOR EACH ROW WHEN (NEW.domain IS NOT NULL)
    EXECUTE FUNCTION fedi_media_cache_profile();


-- a remote account deleted: our copies go
CREATE FUNCTION fedi_media_cache_account_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO media_cache_trash (path)
    SELECT p FROM unnest(ARRAY[OLD.avatar_file, OLD.header_file]) p
     WHERE p IS NOT NULL
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER accounts_cache_gone AFTER DELETE ON accounts
    FOR EACH ROW WHEN (OLD.domain IS NOT NULL)
    EXECUTE FUNCTION fedi_media_cache_account_gone();


-- A worker with the cache on: says so, and claims up to p_limit due jobs
-- for p_lease seconds (jobs of a domain blocked meanwhile are dropped)
CREATE FUNCTION fedi_media_cache_claim(p_limit integer, p_lease integer)
RETURNS TABLE (job bigint, kind text, url text)
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO media_cache_on VALUES (1, now() + interval '5 minutes')
    ON CONFLICT (id) DO UPDATE SET until = excluded.until
    WHERE media_cache_on.until < now() + interval '4 minutes';

    DELETE FROM media_cache_jobs j
     USING accounts a
     WHERE j.next_at <= now()
       AND a.id = coalesce(j.account_id,
                           (SELECT m.account_id FROM media_attachments m
                             WHERE m.id = j.media_id))
       AND EXISTS (SELECT 1 FROM fedi_domain_block(a.domain) b
                    WHERE b.reject_media OR b.severity = 'suspend');

    RETURN QUERY
    UPDATE media_cache_jobs c
       SET next_at = now() + p_lease * interval '1 second',
           attempts = c.attempts + 1
      FROM (SELECT x.id FROM media_cache_jobs x
             WHERE x.next_at <= now()
             ORDER BY x.next_at LIMIT p_limit
             FOR UPDATE SKIP LOCKED) d
     WHERE c.id = d.id
    RETURNING c.id, c.kind, c.url;
END
$$;


-- A job fetched and processed: the row shows our copy (attachments take
-- the meta, blurhash and type found in the file).  Returns the files to
-- remove: ours when the row is gone or now wants another URL.
CREATE FUNCTION fedi_media_cache_done(p_job bigint, p_file text,
                                      p_preview text, p_meta jsonb,
                                      p_blurhash text, p_mime text,
                                      p_size bigint, p_type text)
RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    v_job  media_cache_jobs;
    v_ok   boolean := false;
BEGIN
    DELETE FROM media_cache_jobs WHERE id = p_job RETURNING * INTO v_job;

    IF FOUND AND v_job.kind = 'attachment' THEN
        UPDATE media_attachments
           SET file_path = p_file, preview_path = p_preview,
               meta = p_meta, blurhash = coalesce(p_blurhash, blurhash),
               content_type = p_mime, file_size = p_size, type = p_type,
               cached_at = now(), updated_at = now()
         WHERE id = v_job.media_id AND remote_url = v_job.url
           AND file_path IS NULL;
        v_ok := FOUND;

    ELSIF FOUND AND v_job.kind = 'avatar' THEN
        UPDATE accounts SET avatar_file = p_file
         WHERE id = v_job.account_id AND avatar_remote_url = v_job.url
           AND avatar_file IS NULL;
        v_ok := FOUND;

    ELSIF FOUND THEN
        UPDATE accounts SET header_file = p_file
         WHERE id = v_job.account_id AND header_remote_url = v_job.url
           AND header_file IS NULL;
        v_ok := FOUND;
    END IF;

    IF v_ok THEN
        RETURN '{}';
    END IF;

    RETURN array_remove(ARRAY[p_file, p_preview], NULL);
END
$$;


-- A job that failed: p_final (the file refused) or past the attempts
-- allowed, it is dropped and the media stays shown by its remote URL;
-- else it is tried again later, 30 s, 2 min, 8 min, ... after
CREATE FUNCTION fedi_media_cache_failed(p_job bigint, p_final boolean,
                                        p_attempts integer)
RETURNS void
LANGUAGE sql AS $$
    DELETE FROM media_cache_jobs
     WHERE id = p_job AND (p_final OR attempts >= p_attempts);

    UPDATE media_cache_jobs
       SET next_at = now() + interval '30 seconds' * power(4, attempts - 1)
     WHERE id = p_job;
$$;


-- files to remove, for the workers (SKIP LOCKED: each once)
CREATE FUNCTION fedi_media_cache_trash(p_limit integer)
RETURNS SETOF text
LANGUAGE sql AS $$
    DELETE FROM media_cache_trash t
     WHERE t.path IN (SELECT x.path FROM media_cache_trash x LIMIT p_limit
                       FOR UPDATE SKIP LOCKED)
    RETURNING t.path
$$;


-- Custom thumbnails (the "thumbnail" part of POST /api/v1|v2/media and
-- PUT /api/v1/media/:id): a picture, processed like a preview, shown as
-- the attachment's preview_url (video and audio above all), as Mastodon
ALTER TABLE media_attachments ADD COLUMN thumbnail_path text;
