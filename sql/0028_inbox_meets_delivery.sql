-- Where the inbox (sql/0016) and delivery (sql/0017) meet.
--
-- A remote status (its uri set) is never delivered by us: the triggers
-- that queue deliveries of statuses (sql/0017) are not even queued for
-- one, which the inbox's Creates otherwise paid for at each commit.

DROP TRIGGER statuses_out ON statuses;
CREATE CONSTRAINT TRIGGER statuses_out AFTER INSERT ON statuses
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.uri IS NULL)
    EXECUTE FUNCTION fedi_status_out();

DROP TRIGGER statuses_edit_out ON statuses;
CREATE CONSTRAINT TRIGGER statuses_edit_out AFTER UPDATE OF edited_at
    ON statuses DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.edited_at IS DISTINCT FROM OLD.edited_at
                       AND NEW.deleted_at IS NULL AND NEW.uri IS NULL)
    EXECUTE FUNCTION fedi_status_out();


-- A Move: the local followers of the old account ask to follow the new
-- one with a Follow sent, not a request that never leaves here
CREATE OR REPLACE FUNCTION fedi_inbox_move(p_act inbox_activities, p_base text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_old    accounts;
    v_target text := fedi_ap_id(p_act.body -> 'target');
    v_new    bigint;
    v_local  bigint;
    v_n      integer := 0;
BEGIN
    SELECT * INTO v_old FROM accounts WHERE id = p_act.account_id;

    IF fedi_ap_id(p_act.body -> 'object') IS DISTINCT FROM v_old.uri THEN
        RETURN 'move: not of the actor';
    END IF;

    IF p_act.object IS NULL
       OR p_act.object ->> 'id' IS DISTINCT FROM v_target THEN
        RETURN 'move: no trusted target';
    END IF;

    IF NOT fedi_ap_ids(p_act.object -> 'alsoKnownAs') @> ARRAY[v_old.uri]
    THEN
        RETURN 'move: the target does not know the actor (alsoKnownAs)';
    END IF;

    v_new := fedi_remote_account(p_act.object, fedi_url_host(v_target),
                                 v_target);
    IF v_new IS NULL OR v_new = v_old.id THEN
        RETURN 'move: the target is no actor';
    END IF;

    UPDATE accounts SET also_known_as = fedi_ap_ids(p_act.object
                                                    -> 'alsoKnownAs')
     WHERE id = v_new;
    UPDATE accounts SET moved_to_account_id = v_new WHERE id = v_old.id;

    FOR v_local IN SELECT f.account_id FROM follows f
                     JOIN accounts a ON a.id = f.account_id
                                    AND a.domain IS NULL
                    WHERE f.target_account_id = v_old.id LOOP
        PERFORM fedi_unfollow(v_local, v_old.id);
        IF NOT EXISTS (SELECT 1 FROM follows WHERE account_id = v_local
                          AND target_account_id = v_new)
           AND NOT EXISTS (SELECT 1 FROM blocks
                            WHERE (account_id = v_local
                                   AND target_account_id = v_new)
                               OR (account_id = v_new
                                   AND target_account_id = v_local)) THEN
            -- a request with its Follow sent (sql/0017's fedi_follow)
            PERFORM fedi_follow(v_local, v_new, NULL, NULL);
        END IF;
        v_n := v_n + 1;
    END LOOP;

    RETURN 'move ' || v_n;
END
$$;
