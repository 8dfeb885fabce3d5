/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of the streaming API (fedi_stream.c): the events table and
 * what a batch of events needs to be rendered.
 */


/* where a worker starts: events before it are not its business */
FEDI_SQL(STREAM_START, 0,
    "SELECT coalesce(max(id), 0) FROM stream_events")

/* $1 the last event seen, $2 how many; an event for several home feeds
 * or lists ('user:*' or 'list:*' with the accounts or lists, sql/0029,
 * sql/0030) comes as one row with their ids, which the worker matches
 * with its own subscribers (fedi_stream_events()): unnested here, a post
 * to 1,000 followers was 1,000 rows to every worker, streaming or not */
FEDI_SQL(STREAM_EVENTS, 2,
    "SELECT id, stream, event, object_id, local, detail, accounts"
    " FROM stream_events WHERE id > $1::bigint ORDER BY id LIMIT $2::bigint")

/* the statuses of a batch, for no viewer in particular ($1 NULL); the
 * viewer's marks come from STREAM_VIEW; $3 their ids */
FEDI_SQL(STREAM_STATUSES, 3,
    "SELECT " FEDI_STATUS_COLS
    " FROM statuses s" FEDI_STATUS_JOIN
    " WHERE s.id = ANY ($3::bigint[]) AND s.deleted_at IS NULL")

/* $1 viewers, $2 statuses: pairs; see fedi_stream_view() */
FEDI_SQL(STREAM_VIEW, 2,
    "SELECT viewer, status, allowed, favourited, bookmarked, reblogged,"
    " pinned, muted FROM fedi_stream_view($1::bigint[], $2::bigint[])")

FEDI_SQL(STREAM_PRUNE, 0,
    "DELETE FROM stream_events"
    " WHERE created_at < now() - interval '5 minutes'")
