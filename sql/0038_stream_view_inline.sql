-- The streams' per-viewer check (sql/0018) with the visibility rule
-- written out.  fedi_status_visible() is not inlined (a LANGUAGE sql
-- function with subqueries never is), so fedi_stream_view() called it
-- once or twice per (viewer, status) pair: 1,000 subscribers of one
-- stream cost 36 ms of a single backend per event before the first
-- payload could go out.  Restated whole; the rule is the same as
-- fedi_status_visible()'s for a viewer who is an account.

CREATE OR REPLACE FUNCTION fedi_stream_view(p_viewers bigint[],
                                            p_statuses bigint[])
RETURNS TABLE (viewer bigint, status bigint, allowed boolean,
               favourited boolean, bookmarked boolean, reblogged boolean,
               pinned boolean, muted boolean)
LANGUAGE sql STABLE AS $$
    SELECT v.viewer, v.status,
           s.id IS NOT NULL AND s.deleted_at IS NULL
           AND (v.viewer = s.account_id
                OR ((s.visibility IN ('public', 'unlisted')
                     OR (s.visibility = 'private' AND EXISTS (
                            SELECT 1 FROM follows f
                             WHERE f.account_id = v.viewer
                               AND f.target_account_id = s.account_id))
                     OR EXISTS (SELECT 1 FROM mentions m
                                 WHERE m.status_id = s.id
                                   AND m.account_id = v.viewer))
                    AND NOT EXISTS (SELECT 1 FROM blocks b
                                     WHERE b.account_id = v.viewer
                                       AND b.target_account_id = s.account_id)
                    AND NOT EXISTS (SELECT 1 FROM blocks b
                                     WHERE b.account_id = s.account_id
                                       AND b.target_account_id = v.viewer)))
           AND (r.id IS NULL OR (r.deleted_at IS NULL
                AND (v.viewer = r.account_id
                     OR ((r.visibility IN ('public', 'unlisted')
                          OR (r.visibility = 'private' AND EXISTS (
                                 SELECT 1 FROM follows f
                                  WHERE f.account_id = v.viewer
                                    AND f.target_account_id = r.account_id))
                          OR EXISTS (SELECT 1 FROM mentions m
                                      WHERE m.status_id = r.id
                                        AND m.account_id = v.viewer))
                         AND NOT EXISTS (SELECT 1 FROM blocks b
                                          WHERE b.account_id = v.viewer
                                            AND b.target_account_id
                                                = r.account_id)
                         AND NOT EXISTS (SELECT 1 FROM blocks b
                                          WHERE b.account_id = r.account_id
                                            AND b.target_account_id
                                                = v.viewer)))))
           AND NOT EXISTS (SELECT 1 FROM mutes m
                            WHERE m.account_id = v.viewer
                              AND (m.target_account_id = s.account_id
                                   OR m.target_account_id = r.account_id
                                   OR m.target_account_id IN
                                      (SELECT x.account_id FROM mentions x
                                        WHERE x.status_id = s.id))
                              AND (m.expires_at IS NULL
                                   OR m.expires_at > now()))
           AND NOT EXISTS (SELECT 1 FROM blocks b
                            WHERE b.account_id = v.viewer
                              AND b.target_account_id IN
                                  (SELECT x.account_id FROM mentions x
                                    WHERE x.status_id = s.id))
           AND NOT EXISTS (SELECT 1 FROM account_domain_blocks db
                             JOIN accounts da ON lower(da.domain) = db.domain
                            WHERE db.account_id = v.viewer
                              AND (da.id = s.account_id
                                   OR da.id = r.account_id)),
           EXISTS (SELECT 1 FROM favourites fv WHERE fv.status_id = s.id
                      AND fv.account_id = v.viewer),
           EXISTS (SELECT 1 FROM bookmarks bm WHERE bm.status_id = s.id
                      AND bm.account_id = v.viewer),
           EXISTS (SELECT 1 FROM statuses rb WHERE rb.reblog_of_id = s.id
                      AND rb.account_id = v.viewer
                      AND rb.deleted_at IS NULL),
           EXISTS (SELECT 1 FROM status_pins sp WHERE sp.status_id = s.id
                      AND sp.account_id = v.viewer),
           EXISTS (SELECT 1 FROM conversation_mutes cm
                    WHERE cm.account_id = v.viewer
                      AND cm.conversation_id
                          = coalesce(s.conversation_id, s.id))
      FROM unnest(p_viewers, p_statuses) AS v(viewer, status)
      LEFT JOIN statuses s ON s.id = v.status
      LEFT JOIN statuses r ON r.id = s.reblog_of_id
$$;
