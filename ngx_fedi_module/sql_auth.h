/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of bearer-token authentication.
 */


/* $1: hex SHA-256 of the token */
FEDI_SQL(AUTH_TOKEN, 1,
    "SELECT t.id, t.user_id, u.account_id, t.application_id, t.scopes,"
    " u.confirmed_at IS NOT NULL, u.approved, u.disabled,"
    " a.suspended_at IS NOT NULL,"
    " CASE u.role WHEN 'Owner' THEN 3 WHEN 'Admin' THEN 2"
    "  WHEN 'Moderator' THEN 1 ELSE 0 END,"
    " EXISTS (SELECT 1 FROM custom_filters cf"
    "  WHERE cf.account_id = u.account_id"
    "  AND (cf.expires_at IS NULL OR cf.expires_at > now()))"
    " FROM oauth_access_tokens t"
    " LEFT JOIN users u ON u.id = t.user_id"
    " LEFT JOIN accounts a ON a.id = u.account_id"
    " WHERE t.digest = decode($1, 'hex') AND t.revoked_at IS NULL")
