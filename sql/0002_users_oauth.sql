-- Local users, OAuth applications, grants and tokens, web sessions,
-- login throttling, markers.  Secrets (tokens, codes, session ids) are
-- stored as SHA-256 digests, never as given.

CREATE TABLE users (
    id                  bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id          bigint NOT NULL UNIQUE
                        REFERENCES accounts (id) ON DELETE CASCADE,
    email               text NOT NULL,
    encrypted_password  text NOT NULL DEFAULT '',
    confirmed_at        timestamptz,
    confirmation_digest bytea,
    approved            boolean NOT NULL DEFAULT true,
    disabled            boolean NOT NULL DEFAULT false,
    role                text NOT NULL DEFAULT ''
                        CHECK (role IN ('', 'Moderator', 'Admin', 'Owner')),
    locale              text NOT NULL DEFAULT 'en',
    reason              text,
    sign_up_ip          inet,
    default_privacy     text NOT NULL DEFAULT 'public',
    default_sensitive   boolean NOT NULL DEFAULT false,
    default_language    text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    current_sign_in_at  timestamptz
);

CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE oauth_applications (
    id             bigint PRIMARY KEY DEFAULT fedi_id(),
    name           text NOT NULL,
    website        text,
    redirect_uris  text[] NOT NULL,
    scopes         text NOT NULL DEFAULT 'read',
    client_id      text NOT NULL UNIQUE,
    client_secret  text NOT NULL,
    owner_user_id  bigint REFERENCES users (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE oauth_access_grants (
    id                     bigint PRIMARY KEY DEFAULT fedi_id(),
    digest                 bytea NOT NULL UNIQUE,
    application_id         bigint NOT NULL
                           REFERENCES oauth_applications (id) ON DELETE CASCADE,
    user_id                bigint NOT NULL
                           REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri           text NOT NULL,
    scopes                 text NOT NULL,
    code_challenge         text,
    code_challenge_method  text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    expires_at             timestamptz NOT NULL
                           DEFAULT now() + interval '10 minutes',
    used_at                timestamptz
);

CREATE TABLE oauth_access_tokens (
    id              bigint PRIMARY KEY DEFAULT fedi_id(),
    digest          bytea NOT NULL UNIQUE,
    application_id  bigint REFERENCES oauth_applications (id)
                    ON DELETE CASCADE,
    user_id         bigint REFERENCES users (id) ON DELETE CASCADE,
    scopes          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    last_used_at    timestamptz
);

CREATE INDEX oauth_access_tokens_user ON oauth_access_tokens (user_id);

-- browser sessions of the sign-in and consent pages
CREATE TABLE web_sessions (
    digest      bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL DEFAULT now() + interval '1 day'
);

-- failed sign-ins, per address and per account, for throttling
CREATE TABLE login_failures (
    key  text NOT NULL,
    at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX login_failures_key_at ON login_failures (key, at);

CREATE TABLE markers (
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    timeline      text NOT NULL CHECK (timeline IN ('home', 'notifications')),
    last_read_id  bigint NOT NULL,
    lock_version  integer NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, timeline)
);

-- The cache channel: workers drop cached tokens and accounts when told.
CREATE FUNCTION fedi_cache_notify(what text) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_notify('fedi_cache', what)
$$;
