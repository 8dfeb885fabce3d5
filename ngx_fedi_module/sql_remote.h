/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of remote accounts and objects.
 */


/* $1 the actor document, $2 its account's domain, $3 the URL it came
 * from: see fedi_remote_account() */
FEDI_SQL(REMOTE_ACCOUNT, 3,
    "SELECT fedi_remote_account($1::jsonb, $2, $3)")
