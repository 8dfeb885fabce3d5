/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of OAuth: applications, the sign-in and consent pages,
 * grants and tokens.  Secrets arrive as hex SHA-256 digests.
 */


/* $1 name, $2 website, $3 redirect URIs (one per line), $4 scopes,
 * $5 client_id, $6 client_secret, $7 owner user id or NULL */
FEDI_SQL(APP_CREATE, 7,
    "INSERT INTO oauth_applications (name, website, redirect_uris, scopes,"
    " client_id, client_secret, owner_user_id)"
    " VALUES ($1, $2, string_to_array($3, E'\\n'), $4, $5, $6, $7)"
    " RETURNING id")

#define FEDI_APP_COLS                                                        \
    "id, name, website, array_to_string(redirect_uris, E'\\n'), scopes,"     \
    " client_id, client_secret"

FEDI_SQL(APP_BY_CLIENT, 1,
    "SELECT " FEDI_APP_COLS " FROM oauth_applications WHERE client_id = $1")

FEDI_SQL(APP_BY_ID, 1,
    "SELECT " FEDI_APP_COLS " FROM oauth_applications WHERE id = $1")

/* $1 session digest */
FEDI_SQL(SESSION_USER, 1,
    "SELECT u.id, a.username FROM web_sessions s"
    " JOIN users u ON u.id = s.user_id"
    " JOIN accounts a ON a.id = u.account_id"
    " WHERE s.digest = decode($1, 'hex') AND s.expires_at > now()"
    " AND NOT u.disabled AND a.suspended_at IS NULL")

/* $1 client address, $2 email or username */
FEDI_SQL(LOGIN_LOOKUP, 2,
    "SELECT"
    " (SELECT count(*) FROM login_failures WHERE key = 'ip:' || $1"
    "   AND at > now() - interval '5 minutes'),"
    " (SELECT count(*) FROM login_failures WHERE key = 'email:' || lower($2)"
    "   AND at > now() - interval '1 hour'),"
    " u.id, u.encrypted_password, u.confirmed_at IS NOT NULL, u.approved,"
    " u.disabled OR a.suspended_at IS NOT NULL, a.username"
    " FROM (SELECT 1) one"
    " LEFT JOIN (users u JOIN accounts a ON a.id = u.account_id"
    "   AND a.domain IS NULL)"
    "   ON lower(u.email) = lower($2) OR lower(a.username) = lower($2)"
    " LIMIT 1")

FEDI_SQL(LOGIN_FAILED, 2,
    "INSERT INTO login_failures (key)"
    " VALUES ('ip:' || $1), ('email:' || lower($2))")

/* $1 user id, $2 new session digest or NULL */
FEDI_SQL(LOGIN_OK, 2,
    "WITH s AS (INSERT INTO web_sessions (digest, user_id)"
    "   SELECT decode($2, 'hex'), $1 WHERE $2 IS NOT NULL RETURNING 1)"
    " UPDATE users SET current_sign_in_at = now() WHERE id = $1"
    " RETURNING (SELECT count(*) FROM s)")

/* $1 digest, $2 app id, $3 user id, $4 redirect_uri, $5 scopes,
 * $6 code_challenge, $7 code_challenge_method */
FEDI_SQL(GRANT_CREATE, 7,
    "INSERT INTO oauth_access_grants (digest, application_id, user_id,"
    " redirect_uri, scopes, code_challenge, code_challenge_method)"
    " VALUES (decode($1, 'hex'), $2, $3, $4, $5, $6, $7) RETURNING id")

FEDI_SQL(GRANT_LOOKUP, 1,
    "SELECT ap.client_id, ap.client_secret, g.redirect_uri, g.scopes,"
    " g.code_challenge, g.code_challenge_method,"
    " g.expires_at <= now(), g.used_at IS NOT NULL"
    " FROM oauth_access_grants g"
    " JOIN oauth_applications ap ON ap.id = g.application_id"
    " WHERE g.digest = decode($1, 'hex')")

/* $1 grant digest, $2 new token digest: single use, atomically */
FEDI_SQL(GRANT_EXCHANGE, 2,
    "WITH g AS (UPDATE oauth_access_grants SET used_at = now()"
    "   WHERE digest = decode($1, 'hex') AND used_at IS NULL"
    "   AND expires_at > now()"
    "   RETURNING application_id, user_id, scopes)"
    " INSERT INTO oauth_access_tokens (digest, application_id, user_id,"
    " scopes)"
    " SELECT decode($2, 'hex'), application_id, user_id, scopes FROM g"
    " RETURNING scopes, extract(epoch FROM created_at)::bigint")

/* $1 digest, $2 app id, $3 user id or NULL, $4 scopes */
FEDI_SQL(TOKEN_CREATE, 4,
    "INSERT INTO oauth_access_tokens (digest, application_id, user_id,"
    " scopes) VALUES (decode($1, 'hex'), $2, $3, $4)"
    " RETURNING scopes, extract(epoch FROM created_at)::bigint")

/* $1 token digest, $2 app id */
FEDI_SQL(TOKEN_REVOKE, 2,
    "UPDATE oauth_access_tokens SET revoked_at = now()"
    " WHERE digest = decode($1, 'hex') AND application_id = $2"
    " AND revoked_at IS NULL"
    " RETURNING fedi_cache_notify('token:' || $1)")
