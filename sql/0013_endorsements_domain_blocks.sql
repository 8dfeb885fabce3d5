-- Endorsements (featured accounts) and user-level domain blocks.

-- endorse (p_on) or not an account one follows: 'ok', 'not_found' (no
-- such account, or oneself), 'not_following'
CREATE FUNCTION fedi_endorse(p_account bigint, p_target bigint,
                             p_on boolean)
RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM accounts WHERE id = p_target
                   AND id <> p_account) THEN
        RETURN 'not_found';
    END IF;

    IF NOT p_on THEN
        DELETE FROM account_pins WHERE account_id = p_account
           AND target_account_id = p_target;
        RETURN 'ok';
    END IF;

    IF NOT EXISTS (SELECT 1 FROM follows WHERE account_id = p_account
                   AND target_account_id = p_target) THEN
        RETURN 'not_following';
    END IF;

    INSERT INTO account_pins (account_id, target_account_id)
    VALUES (p_account, p_target) ON CONFLICT DO NOTHING;

    RETURN 'ok';
END
$$;

-- an unfollow ends the endorsement too, as Mastodon
CREATE FUNCTION fedi_follow_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM account_pins WHERE account_id = OLD.account_id
       AND target_account_id = OLD.target_account_id;
    RETURN OLD;
END
$$;

CREATE TRIGGER follows_gone AFTER DELETE ON follows
    FOR EACH ROW EXECUTE FUNCTION fedi_follow_gone();

-- A user's block of a whole domain: its accounts' posts and notifications
-- are hidden from the user, and the user's followers there are removed.
-- 'ok', or 'invalid' for what is not a domain name.
CREATE FUNCTION fedi_user_domain_block(p_account bigint, p_domain text,
                                       p_on boolean)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_domain text := lower(rtrim(btrim(coalesce(p_domain, '')), '.'));
    v_f      record;
BEGIN
    IF v_domain !~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$'
       OR length(v_domain) > 253 THEN
        RETURN 'invalid';
    END IF;

    IF NOT p_on THEN
        DELETE FROM account_domain_blocks WHERE account_id = p_account
           AND domain = v_domain;
        RETURN 'ok';
    END IF;

    INSERT INTO account_domain_blocks (account_id, domain)
    VALUES (p_account, v_domain) ON CONFLICT DO NOTHING;

    FOR v_f IN SELECT f.account_id FROM follows f
                 JOIN accounts a ON a.id = f.account_id
                WHERE f.target_account_id = p_account
                  AND lower(a.domain) = v_domain
    LOOP
        PERFORM fedi_unfollow(v_f.account_id, p_account);
    END LOOP;

    DELETE FROM notifications n USING accounts a
     WHERE n.account_id = p_account AND a.id = n.from_account_id
       AND lower(a.domain) = v_domain;

    RETURN 'ok';
END
$$;

CREATE INDEX accounts_domain_lower ON accounts (lower(domain))
    WHERE domain IS NOT NULL;
