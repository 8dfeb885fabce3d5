/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of blocks, mutes, follow requests, notes, and the lists of
 * accounts they make.
 */


/* $1 account, $2 target (local or remote), $3 on */
FEDI_SQL(BLOCK, 3,
    "SELECT fedi_block($1, $2, $3::boolean) FROM accounts"
    " WHERE id = $2 AND id <> $1")

/* $4 hide notifications, $5 duration in seconds (0: for ever) */
FEDI_SQL(MUTE, 5,
    "SELECT fedi_mute($1, $2, $3::boolean, $4::boolean, $5::integer)"
    " FROM accounts WHERE id = $2 AND id <> $1")

/* $1 account, $2 the requester, $3 accept */
FEDI_SQL(FOLLOW_REQUEST, 3,
    "SELECT fedi_follow_request($1, $2, $3::boolean)")

/* $1 account, $2 target, $3 comment */
FEDI_SQL(NOTE, 3,
    "INSERT INTO account_notes (account_id, target_account_id, comment)"
    " SELECT $1, id, $3 FROM accounts WHERE id = $2"
    " ON CONFLICT (account_id, target_account_id)"
    " DO UPDATE SET comment = excluded.comment RETURNING 1")

/* $1 account, $2 the follower to drop */
FEDI_SQL(REMOVE_FOLLOWER, 2,
    "SELECT fedi_unfollow($2, $1) FROM accounts WHERE id = $2")

/*
 * Lists of accounts, paged by the relation's own id ($3..$6; the cursor
 * is the last column).  $1 is the viewer.
 */
FEDI_SQL(BLOCKS_LIST, 6,
    "SELECT * FROM (SELECT " FEDI_ACCOUNT_COLS ", NULL, x.id AS cursor"
    " FROM blocks x JOIN accounts a ON a.id = x.target_account_id"
    " WHERE x.account_id = $1 AND ($2::text IS NULL OR true)"
    FEDI_PAGE_BY("x.id") ") y ORDER BY y.cursor DESC")

FEDI_SQL(MUTES_LIST, 6,
    "SELECT * FROM (SELECT " FEDI_ACCOUNT_COLS ","
    " to_char(x.expires_at AT TIME ZONE 'UTC',"
    "   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), x.id AS cursor"
    " FROM mutes x JOIN accounts a ON a.id = x.target_account_id"
    " WHERE x.account_id = $1 AND ($2::text IS NULL OR true)"
    " AND (x.expires_at IS NULL OR x.expires_at > now())"
    FEDI_PAGE_BY("x.id") ") y ORDER BY y.cursor DESC")

FEDI_SQL(FOLLOW_REQUESTS_LIST, 6,
    "SELECT * FROM (SELECT " FEDI_ACCOUNT_COLS ", NULL, x.id AS cursor"
    " FROM follow_requests x JOIN accounts a ON a.id = x.account_id"
    " WHERE x.target_account_id = $1 AND ($2::text IS NULL OR true)"
    FEDI_PAGE_BY("x.id") ") y ORDER BY y.cursor DESC")

/* followers and following of $2 (the viewer $1 sees hidden ones only
 * when they are its own) */
FEDI_SQL(FOLLOWERS_LIST, 6,
    "SELECT * FROM (SELECT " FEDI_ACCOUNT_COLS ", NULL, x.id AS cursor"
    " FROM follows x JOIN accounts a ON a.id = x.account_id"
    " JOIN accounts t ON t.id = x.target_account_id"
    " WHERE x.target_account_id = $2::bigint"
    " AND (NOT coalesce(t.hide_collections, false) OR t.id = $1)"
    " AND a.suspended_at IS NULL"
    FEDI_PAGE_BY("x.id") ") y ORDER BY y.cursor DESC")

FEDI_SQL(FOLLOWING_LIST, 6,
    "SELECT * FROM (SELECT " FEDI_ACCOUNT_COLS ", NULL, x.id AS cursor"
    " FROM follows x JOIN accounts a ON a.id = x.target_account_id"
    " JOIN accounts t ON t.id = x.account_id"
    " WHERE x.account_id = $2::bigint"
    " AND (NOT coalesce(t.hide_collections, false) OR t.id = $1)"
    " AND a.suspended_at IS NULL"
    FEDI_PAGE_BY("x.id") ") y ORDER BY y.cursor DESC")

/* who favourited or boosted $2 (if the viewer $1 may see it), paged by
 * the favourite's or boost's own id */
FEDI_SQL(FAVOURITED_BY, 6,
    "SELECT * FROM (SELECT " FEDI_ACCOUNT_COLS ", NULL, x.id AS cursor"
    " FROM favourites x JOIN accounts a ON a.id = x.account_id"
    " JOIN statuses s ON s.id = x.status_id"
    " WHERE x.status_id = $2::bigint AND s.deleted_at IS NULL"
    " AND fedi_status_visible(s.id, s.account_id, s.visibility, $1)"
    " AND a.suspended_at IS NULL"
    FEDI_PAGE_BY("x.id") ") y ORDER BY y.cursor DESC")

FEDI_SQL(REBLOGGED_BY, 6,
    "SELECT * FROM (SELECT " FEDI_ACCOUNT_COLS ", NULL, x.id AS cursor"
    " FROM statuses x JOIN accounts a ON a.id = x.account_id"
    " JOIN statuses s ON s.id = x.reblog_of_id"
    " WHERE x.reblog_of_id = $2::bigint AND x.deleted_at IS NULL"
    " AND s.deleted_at IS NULL"
    " AND fedi_status_visible(s.id, s.account_id, s.visibility, $1)"
    " AND a.suspended_at IS NULL"
    FEDI_PAGE_BY("x.id") ") y ORDER BY y.cursor DESC")

/* $1 account, $2 target, $3 on: see fedi_endorse() */
FEDI_SQL(ENDORSE, 3,
    "SELECT fedi_endorse($1, $2, $3::boolean)")

/* the accounts $1 endorses, paged by their ids */
FEDI_SQL(ENDORSEMENTS_LIST, 6,
    "SELECT * FROM (SELECT " FEDI_ACCOUNT_COLS ", NULL,"
    " x.target_account_id AS cursor"
    " FROM account_pins x JOIN accounts a ON a.id = x.target_account_id"
    " WHERE x.account_id = $1 AND ($2::text IS NULL OR true)"
    " AND a.suspended_at IS NULL"
    FEDI_PAGE_BY("x.target_account_id") ") y ORDER BY y.cursor DESC")

/* $1 account, $2 domain, $3 on: see fedi_user_domain_block() */
FEDI_SQL(USER_DOMAIN_BLOCK, 3,
    "SELECT fedi_user_domain_block($1, $2, $3::boolean)")

/* the domains $1 blocks, paged by the blocks' ids */
FEDI_SQL(USER_DOMAIN_BLOCKS_LIST, 6,
    "SELECT * FROM (SELECT x.domain, x.id AS cursor"
    " FROM account_domain_blocks x"
    " WHERE x.account_id = $1 AND ($2::text IS NULL OR true)"
    FEDI_PAGE_BY("x.id") ") y ORDER BY y.cursor DESC")

/* $1 follower, $2 target, $3 languages '{en,de}': of the follow or of the
 * request (one row when either exists) */
FEDI_SQL(FOLLOW_LANGUAGES, 3,
    "WITH f AS (UPDATE follows SET languages = $3::text[]"
    "   WHERE account_id = $1 AND target_account_id = $2 RETURNING 1),"
    " r AS (UPDATE follow_requests SET languages = $3::text[]"
    "   WHERE account_id = $1 AND target_account_id = $2 RETURNING 1)"
    " SELECT 1 FROM (SELECT * FROM f UNION ALL SELECT * FROM r) x LIMIT 1")
