/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of remote accounts and objects.
 */


/* $1 the actor document, $2 its account's domain, $3 the URL it came
 * from: see fedi_remote_account() */
FEDI_SQL(REMOTE_ACCOUNT, 3,
    "SELECT fedi_remote_account($1::jsonb, $2, $3)")

/* the block that applies to domain $1, if any: see fedi_domain_block() */
FEDI_SQL(DOMAIN_BLOCK, 1,
    "SELECT severity, reject_media FROM fedi_domain_block($1)")

/* a remote account by its actor's id */
FEDI_SQL(ACCOUNT_BY_URI, 1,
    "SELECT " FEDI_ACCOUNT_COLS " FROM accounts a"
    " WHERE a.domain IS NOT NULL"
    "   AND (a.uri = $1"
    /* or its profile page, believed only from the account's own host */
    "        OR (a.url = $1 AND lower(a.domain)"
    "            = lower(substring($1 from '^https://([^/?#:]+)'))))"
    " ORDER BY a.uri = $1 DESC LIMIT 1")

/* the remote account whose key a signature names ($1 the keyId) */
FEDI_SQL(INBOX_KEY, 1,
    "SELECT id, uri, public_key FROM accounts"
    " WHERE public_key_id = $1 AND domain IS NOT NULL"
    " AND suspended_at IS NULL")

/* a verified activity: $1 its id, $2 its actor's account, $3 the body,
 * $4 its object as C prepared it, or NULL; see fedi_inbox_store() */
FEDI_SQL(INBOX_STORE, 4,
    "SELECT fedi_inbox_store($1, $2, $3::jsonb, $4::jsonb)")

/* a status we hold by its URI $1, ours ($2 the base URL) or remote */
FEDI_SQL(INBOX_STATUS_KNOWN, 2,
    "SELECT fedi_status_by_uri($1, $2)")

/* the background processing: $1 at most, $2 the base URL */
FEDI_SQL(INBOX_RUN, 2,
    "SELECT fedi_inbox_run($1::integer, $2)")
