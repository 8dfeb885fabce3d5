-- fedi_stream_view() (sql/0038) planned once, for any number of pairs.
-- Inlined into STREAM_VIEW, its first five executions on each
-- connection got custom plans: with the arrays' lengths known, the
-- planner hashed whole tables (all of favourites, all of bookmarks) for
-- the marks' EXISTS, 55-68 ms for 500 subscribers where the generic
-- plan's index probes take 4 ms.  With both workers of a fresh nginx
-- rendering each event, that was the first ten posts' events arriving
-- up to 200 ms late (issue 8).  A function with a SET clause is never
-- inlined; its body is planned with the arrays as parameters, so as a
-- generic plan, and plan_cache_mode says so also where PostgreSQL caches
-- the plans of SQL functions' bodies (18 and later).

ALTER FUNCTION fedi_stream_view(bigint[], bigint[])
    SET plan_cache_mode = force_generic_plan;
