/*
 * Copyright (C) ngx_fedi authors
 *
 * The statement table: FEDI_SQL(ID, number of parameters, "SQL") rows,
 * one file per area of the API.  Included by fedi_sql.h (ids) and
 * fedi_sql.c (texts); every statement is prepared on every connection
 * and checked against the schema by `fedictl db check`.
 */

#include "fedi_sql_cols.h"

#include "sql_instance.h"
#include "sql_auth.h"
#include "sql_oauth.h"
#include "sql_accounts.h"
#include "sql_statuses.h"
#include "sql_relationships.h"
#include "sql_remote.h"
#include "sql_search.h"
#include "sql_ap.h"
#include "sql_stream.h"
#include "sql_media.h"
#include "sql_lists.h"
#include "sql_deliver.h"
#include "sql_media_cache.h"
#include "sql_reports.h"
#include "sql_filters.h"
#include "sql_announcements.h"
#include "sql_inbox_fetch.h"
