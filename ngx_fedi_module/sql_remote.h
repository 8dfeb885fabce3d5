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
    " WHERE a.uri = $1 AND a.domain IS NOT NULL")
