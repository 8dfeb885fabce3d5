/*
 * Copyright (C) ngx_fedi authors
 *
 * Column lists shared by statements and their serializers.
 */

#ifndef _FEDI_SQL_COLS_H_INCLUDED_
#define _FEDI_SQL_COLS_H_INCLUDED_


/* an Account: select from "accounts a"; see fedi_account_render() */
#define FEDI_ACCOUNT_COLS                                                    \
    "a.id, a.username, a.domain, a.display_name, a.note, a.url, a.uri,"      \
    " a.locked, a.actor_type = 'Service', a.actor_type = 'Group',"           \
    " a.discoverable, a.indexable, a.hide_collections, a.memorial,"          \
    " to_char(a.created_at AT TIME ZONE 'UTC',"                              \
    "  'YYYY-MM-DD\"T00:00:00.000Z\"'),"                                     \
    " to_char(a.last_status_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"           \
    " a.followers_count, a.following_count, a.statuses_count,"               \
    " a.fields::text, a.avatar_file, a.avatar_remote_url,"                   \
    " a.header_file, a.header_remote_url, a.suspended_at IS NOT NULL,"       \
    " a.silenced_at IS NOT NULL"

#define FEDI_ACCOUNT_NCOLS  26


#endif /* _FEDI_SQL_COLS_H_INCLUDED_ */
