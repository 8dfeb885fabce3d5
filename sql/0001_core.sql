-- Core schema: ids, instance settings and rules, custom emojis, accounts.
-- Local and remote accounts share one table (domain NULL for local), as in
-- Mastodon, so one Account serializer serves both.

-- Mastodon-style snowflake ids: milliseconds since the epoch in the high
-- bits, a sequence in the low 16.  Time order is id order, which is what
-- max_id / since_id / min_id pagination needs.
CREATE SEQUENCE fedi_id_seq CYCLE;

CREATE FUNCTION fedi_id_at(ts timestamptz) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    SELECT (floor(extract(epoch FROM ts) * 1000)::bigint << 16)
           | (nextval('fedi_id_seq') & 65535)
$$;

CREATE FUNCTION fedi_id() RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    SELECT fedi_id_at(clock_timestamp())
$$;

-- The smallest id a given time can have: for date-based cursors.
CREATE FUNCTION fedi_id_floor(ts timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT floor(extract(epoch FROM ts) * 1000)::bigint << 16
$$;

-- Instance settings an operator changes at run time (fedictl settings ...).
CREATE TABLE settings (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO settings (key, value) VALUES
    ('registrations_mode', '"open"'),
    ('site_title', 'null'),
    ('site_short_description', 'null'),
    ('site_contact_email', 'null'),
    ('site_contact_username', 'null');

CREATE TABLE rules (
    id          bigint PRIMARY KEY DEFAULT fedi_id(),
    text        text NOT NULL,
    hint        text NOT NULL DEFAULT '',
    position    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE custom_emojis (
    id                 bigint PRIMARY KEY DEFAULT fedi_id(),
    shortcode          text NOT NULL,
    domain             text,
    uri                text,
    image_url          text NOT NULL,
    static_url         text NOT NULL,
    visible_in_picker  boolean NOT NULL DEFAULT true,
    disabled           boolean NOT NULL DEFAULT false,
    category           text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX custom_emojis_shortcode_domain
    ON custom_emojis (shortcode, coalesce(domain, ''));

CREATE TABLE accounts (
    id                   bigint PRIMARY KEY DEFAULT fedi_id(),
    username             text NOT NULL,
    domain               text,                 -- NULL: local
    display_name         text NOT NULL DEFAULT '',
    note                 text NOT NULL DEFAULT '',   -- HTML
    note_source          text NOT NULL DEFAULT '',   -- what the user typed
    fields               jsonb NOT NULL DEFAULT '[]',   -- name, value (HTML)
    fields_source        jsonb NOT NULL DEFAULT '[]',   -- name, value (typed)
    uri                  text NOT NULL DEFAULT '',
    url                  text,
    inbox_url            text NOT NULL DEFAULT '',
    shared_inbox_url     text NOT NULL DEFAULT '',
    outbox_url           text NOT NULL DEFAULT '',
    followers_url        text NOT NULL DEFAULT '',
    following_url        text NOT NULL DEFAULT '',
    featured_url         text NOT NULL DEFAULT '',
    public_key           text NOT NULL DEFAULT '',
    private_key          text,
    actor_type           text NOT NULL DEFAULT 'Person',
    locked               boolean NOT NULL DEFAULT false,
    discoverable         boolean,
    indexable            boolean NOT NULL DEFAULT false,
    hide_collections     boolean,
    memorial             boolean NOT NULL DEFAULT false,
    avatar_remote_url    text,
    header_remote_url    text,
    avatar_file          text,
    header_file          text,
    also_known_as        text[] NOT NULL DEFAULT '{}',
    moved_to_account_id  bigint REFERENCES accounts (id) ON DELETE SET NULL,
    followers_count      integer NOT NULL DEFAULT 0,
    following_count      integer NOT NULL DEFAULT 0,
    statuses_count       integer NOT NULL DEFAULT 0,
    last_status_at       timestamptz,
    suspended_at         timestamptz,
    silenced_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    last_webfingered_at  timestamptz
);

CREATE UNIQUE INDEX accounts_username_domain
    ON accounts (lower(username), lower(coalesce(domain, '')));
CREATE INDEX accounts_uri ON accounts (uri) WHERE domain IS NOT NULL;
CREATE INDEX accounts_domain ON accounts (domain) WHERE domain IS NOT NULL;
