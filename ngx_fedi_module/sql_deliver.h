/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of the delivery process (fedi_deliver.c); the queue itself
 * is in sql/0017_deliveries.sql.
 */


/* $1 limit, $2 per domain, $3 the process ("host:pid"), $4 busy domains,
 * $5 lease seconds: id, activity id, inbox, attempts */
FEDI_SQL(DELIVER_CLAIM, 5,
    "SELECT id, activity_id, inbox, attempts"
    " FROM fedi_delivery_claim($1::integer, $2::integer, $3, $4::text[],"
    " $5::integer)")


/*
 * An activity to send: $1 its id, $2 the base URL.  The Note's columns
 * (NULL but the username when it is not a Create or Update of a status),
 * then the payload, the signer's private key, whether the status is
 * gone and whether the signer is the instance actor (a Flag).
 */
FEDI_SQL(DELIVER_ACTIVITY, 2,
    "SELECT " FEDI_AP_NOTE_COLS("$2") ","
    " x.payload, CASE WHEN x.by_instance"
    "  THEN (SELECT private_key FROM instance_actor) ELSE a.private_key END,"
    " x.status_id IS NOT NULL AND (s.id IS NULL OR s.deleted_at IS NOT NULL),"
    " x.by_instance"
    " FROM delivery_activities x JOIN accounts a ON a.id = x.account_id"
    " LEFT JOIN statuses s ON s.id = x.status_id" FEDI_AP_NOTE_POLL
    " WHERE x.id = $1::bigint")


/* $1 delivery id, $2 the process, $3 HTTP status (0: none), $4 Retry-After
 * seconds, $5 the error */
FEDI_SQL(DELIVER_DONE, 5,
    "SELECT fedi_delivery_done($1::bigint, $2, $3::integer, $4::integer,"
    " $5)")


/* the processes of host $1 that hold leases */
FEDI_SQL(DELIVER_HOLDERS, 1,
    "SELECT fedi_delivery_holders($1)")


/* give back the leases of host $1's processes but $2 (alive) */
FEDI_SQL(DELIVER_RELEASE, 2,
    "SELECT fedi_delivery_release($1, $2::text[])")


/* the base URL, for the Follow ids the database makes */
FEDI_SQL(DELIVER_BASE, 1,
    "INSERT INTO settings (key, value) VALUES ('base_url', to_jsonb($1::text))"
    " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
    " WHERE settings.value IS DISTINCT FROM EXCLUDED.value")
