/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of reports (api_reports.c); what a report does is in
 * sql/0033_reports_move.sql.
 */


/*
 * $1 the reporter, $2 the reported account, $3 status ids, $4 comment,
 * $5 category, $6 rule ids, $7 forward, $8 the domains to forward to
 * (NULL: the target's): the HTTP status and the report's id or the error
 */
FEDI_SQL(REPORT_CREATE, 8,
    "SELECT code, result FROM fedi_report_create($1::bigint, $2::bigint,"
    " $3::bigint[], $4, $5, $6::bigint[], $7::boolean, $8::text[])")


/* the Report $1 of reporter $2: its fields, then the target's Account */
FEDI_SQL(REPORT, 2,
    "SELECT r.id, r.action_taken_at IS NOT NULL,"
    " to_char(r.action_taken_at AT TIME ZONE 'UTC',"
    "  'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " r.category, r.comment, coalesce(r.forwarded, false),"
    " to_char(r.created_at AT TIME ZONE 'UTC',"
    "  'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " to_json(r.status_ids::text[])::text,"
    " to_json(r.rule_ids::text[])::text, "
    FEDI_ACCOUNT_COLS
    " FROM reports r JOIN accounts a ON a.id = r.target_account_id"
    " WHERE r.id = $1::bigint AND r.account_id = $2::bigint")
