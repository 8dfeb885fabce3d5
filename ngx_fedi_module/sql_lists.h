/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of lists (api_lists.c).  $1 is the list's owner, the
 * viewer, everywhere: another user's list is not found.
 */


/* a List entity's columns */
#define FEDI_LIST_COLS                                                       \
    "l.id, l.title, l.replies_policy, l.exclusive"

FEDI_SQL(LISTS, 1,
    "SELECT " FEDI_LIST_COLS " FROM lists l WHERE l.account_id = $1"
    " ORDER BY l.id")

/* $2 the list */
FEDI_SQL(LIST_GET, 2,
    "SELECT " FEDI_LIST_COLS " FROM lists l"
    " WHERE l.id = $2::bigint AND l.account_id = $1")

/* $2 title, $3 replies_policy, $4 exclusive; no row: the owner has
 * Mastodon's 50 lists already (the owner's row lock makes the count
 * hold) */
FEDI_SQL(LIST_CREATE, 4,
    "WITH o AS (SELECT id FROM accounts WHERE id = $1 FOR UPDATE)"
    " INSERT INTO lists (account_id, title, replies_policy, exclusive)"
    " SELECT o.id, $2, $3, $4::boolean FROM o"
    " WHERE (SELECT count(*) FROM lists WHERE account_id = $1) < 50"
    " RETURNING id, title, replies_policy, exclusive")

/* $2 the list; $3 title, $4 replies_policy, $5 exclusive: NULL leaves
 * each as it is */
FEDI_SQL(LIST_UPDATE, 5,
    "UPDATE lists l SET title = coalesce($3, l.title),"
    " replies_policy = coalesce($4, l.replies_policy),"
    " exclusive = coalesce($5::boolean, l.exclusive), updated_at = now()"
    " WHERE l.id = $2::bigint AND l.account_id = $1"
    " RETURNING " FEDI_LIST_COLS)

FEDI_SQL(LIST_DELETE, 2,
    "DELETE FROM lists WHERE id = $2::bigint AND account_id = $1"
    " RETURNING id")

/* the members of list $2, paged by account id as Mastodon (newest
 * first), $6 NULL for all of them: one row with NULL columns for an
 * empty list, none for a list that is not the viewer's */
FEDI_SQL(LIST_ACCOUNTS, 6,
    "SELECT y.* FROM lists l LEFT JOIN LATERAL (SELECT " FEDI_ACCOUNT_COLS
    "   FROM list_accounts la JOIN accounts a ON a.id = la.account_id"
    "   WHERE la.list_id = l.id AND a.suspended_at IS NULL"
    FEDI_PAGE_BY("a.id") ") y ON true"
    " WHERE l.id = $2::bigint AND l.account_id = $1"
    " ORDER BY y.id DESC")

/* fedi_list_add(): $2 the list, $3 the accounts */
FEDI_SQL(LIST_ACCOUNTS_ADD, 3,
    "SELECT fedi_list_add($1, $2::bigint, $3::bigint[])")

/* what is not on the list is ignored, as by Mastodon; no row: not the
 * viewer's list */
FEDI_SQL(LIST_ACCOUNTS_REMOVE, 3,
    "WITH l AS (SELECT id FROM lists WHERE id = $2::bigint"
    "   AND account_id = $1),"
    " d AS (DELETE FROM list_accounts WHERE list_id IN (SELECT id FROM l)"
    "   AND account_id = ANY ($3::bigint[]) RETURNING 1)"
    " SELECT id, (SELECT count(*) FROM d) FROM l")

/* the viewer's lists that hold account $2 (none for a suspended one):
 * one row with NULL columns when there are none, no row when there is
 * no such account */
FEDI_SQL(ACCOUNT_LISTS, 2,
    "SELECT " FEDI_LIST_COLS " FROM accounts a"
    " LEFT JOIN (list_accounts la JOIN lists l ON l.id = la.list_id"
    "   AND l.account_id = $1) ON la.account_id = a.id"
    "   AND a.suspended_at IS NULL"
    " WHERE a.id = $2::bigint ORDER BY l.id")

/* a list's timeline: $7 the list, as the home timeline, less what the
 * owner muted since */
FEDI_SQL_TIMELINE(TIMELINE_LIST, 7, "lf.status_id",
    " FROM lists l JOIN list_feeds lf ON lf.list_id = l.id"
    " JOIN statuses s ON s.id = lf.status_id"
    FEDI_STATUS_JOIN_R,
    " WHERE l.id = $7::bigint AND l.account_id = $1"
    " AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.account_id = $1"
    "   AND m.target_account_id IN (s.account_id, r.account_id)"
    "   AND (m.expires_at IS NULL OR m.expires_at > now()))"
    " AND" FEDI_TIMELINE_VISIBLE)
