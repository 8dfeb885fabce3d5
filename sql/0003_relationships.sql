-- Relationships between accounts, local or remote alike.

CREATE TABLE follows (
    id                 bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id         bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    show_reblogs       boolean NOT NULL DEFAULT true,
    notify             boolean NOT NULL DEFAULT false,
    languages          text[],
    uri                text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, target_account_id)
);

CREATE INDEX follows_target ON follows (target_account_id, account_id);

CREATE TABLE follow_requests (
    id                 bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id         bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    show_reblogs       boolean NOT NULL DEFAULT true,
    notify             boolean NOT NULL DEFAULT false,
    languages          text[],
    uri                text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, target_account_id)
);

CREATE INDEX follow_requests_target ON follow_requests (target_account_id);

CREATE TABLE blocks (
    id                 bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id         bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uri                text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, target_account_id)
);

CREATE INDEX blocks_target ON blocks (target_account_id);

CREATE TABLE mutes (
    id                  bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id          bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hide_notifications  boolean NOT NULL DEFAULT true,
    expires_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, target_account_id)
);

CREATE TABLE account_notes (
    account_id         bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    comment            text NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, target_account_id)
);

CREATE TABLE account_pins (
    account_id         bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, target_account_id)
);

CREATE TABLE account_domain_blocks (
    id          bigint PRIMARY KEY DEFAULT fedi_id(),
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    domain      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, domain)
);

-- Sign-up, by the API and by fedictl: one transaction, one round trip.
-- Returns the new user's id, or 'username_taken' / 'email_taken'.
-- A token is issued when p_token_digest is given.
CREATE FUNCTION fedi_signup(
    p_username text, p_email text, p_hash text, p_locale text,
    p_reason text, p_ip inet, p_confirmed boolean, p_approved boolean,
    p_role text, p_private_key text, p_public_key text,
    p_token_digest text, p_app_id bigint, p_scopes text,
    p_confirmation_digest text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_account bigint;
    v_user    bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM accounts WHERE domain IS NULL
               AND lower(username) = lower(p_username)) THEN
        RETURN 'username_taken';
    END IF;

    IF EXISTS (SELECT 1 FROM users WHERE lower(email) = lower(p_email)) THEN
        RETURN 'email_taken';
    END IF;

    -- a local account's URIs follow from its name and the configured
    -- domain, so they are not stored (as in Mastodon)
    INSERT INTO accounts (username, private_key, public_key)
    VALUES (p_username, p_private_key, coalesce(p_public_key, ''))
    RETURNING id INTO v_account;

    INSERT INTO users (account_id, email, encrypted_password, confirmed_at,
                       confirmation_digest, approved, role, locale, reason,
                       sign_up_ip)
    VALUES (v_account, p_email, p_hash,
            CASE WHEN p_confirmed THEN now() END,
            decode(p_confirmation_digest, 'hex'),
            p_approved, coalesce(p_role, ''), coalesce(p_locale, 'en'),
            p_reason, p_ip)
    RETURNING id INTO v_user;

    IF p_token_digest IS NOT NULL THEN
        INSERT INTO oauth_access_tokens (digest, application_id, user_id,
                                         scopes)
        VALUES (decode(p_token_digest, 'hex'), p_app_id, v_user, p_scopes);
    END IF;

    RETURN v_user::text;
EXCEPTION WHEN unique_violation THEN
    -- a concurrent sign-up took the name or the address
    IF EXISTS (SELECT 1 FROM users WHERE lower(email) = lower(p_email)) THEN
        RETURN 'email_taken';
    END IF;
    RETURN 'username_taken';
END
$$;
