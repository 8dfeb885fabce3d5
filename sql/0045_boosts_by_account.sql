-- A timeline page's "reblogged" marks (the status cache's light
-- statement, fedi_sql_cols.h) looked up the viewer's boosts of the
-- page's 40-80 statuses one index descent each (statuses_reblogs is
-- ordered by the boosted status first).  The same index the other way
-- round gives the viewer's boosts of the page's id range in one descent,
-- as favourites and bookmarks already were: boosts are a tenth of the
-- statuses, so the index is small.

CREATE INDEX statuses_boosts_by ON statuses (account_id, reblog_of_id)
    WHERE reblog_of_id IS NOT NULL AND deleted_at IS NULL;
