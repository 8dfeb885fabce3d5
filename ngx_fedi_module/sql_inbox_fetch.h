/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of the inbox's background fetcher (ap_inbox_fetch.c); the
 * work is in sql/0039_inbox_pending_objects.sql.
 */


/* a verified activity whose object is to be fetched: $1 its id, $2 its
 * actor's account, $3 the body; see fedi_inbox_store_pending() */
FEDI_SQL(INBOX_STORE_PENDING, 3,
    "SELECT fedi_inbox_store_pending($1, $2, $3::jsonb)")

/* $1 at most, $2 the lease in seconds, $3 attempts allowed:
 * id, body, actor, attempts */
FEDI_SQL(INBOX_FETCH_CLAIM, 3,
    "SELECT id, body, actor, attempts"
    " FROM fedi_inbox_fetch_claim($1::integer, $2::integer, $3::integer)")

/* $1 the activity, $2 its object as prepared or NULL, $3 why none */
FEDI_SQL(INBOX_FETCH_DONE, 3,
    "SELECT fedi_inbox_fetch_done($1::bigint, $2::jsonb, $3)")

/* $1 the activity, $2 why, $3 attempts allowed: seconds until the next,
 * or NULL when given up */
FEDI_SQL(INBOX_FETCH_RETRY, 3,
    "SELECT fedi_inbox_fetch_retry($1::bigint, $2, $3::integer)")
