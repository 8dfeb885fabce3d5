-- Instance-level domain blocks (fedictl domains block|unblock|list), as
-- Mastodon's: "suspend" takes every account of the domain off the
-- instance and severs its follows, "silence" keeps its accounts out of
-- public timelines, "noop" only records the domain (with reject_media,
-- say).  A block covers the domain's subdomains too.

CREATE TABLE domain_blocks (
    id               bigint PRIMARY KEY DEFAULT fedi_id(),
    domain           text NOT NULL CHECK (domain ~ '^[a-z0-9.-]+$'),
    severity         text NOT NULL DEFAULT 'suspend'
                     CHECK (severity IN ('silence', 'suspend', 'noop')),
    reject_media     boolean NOT NULL DEFAULT false,
    reject_reports   boolean NOT NULL DEFAULT false,
    public_comment   text NOT NULL DEFAULT '',
    private_comment  text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX domain_blocks_domain ON domain_blocks (domain);

-- whether domain p_domain is p_block or under it
CREATE FUNCTION fedi_domain_under(p_domain text, p_block text)
RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT lower(rtrim(p_domain, '.')) = p_block
        OR right(lower(rtrim(p_domain, '.')), length(p_block) + 1)
           = '.' || p_block
$$;

-- the block that applies to a domain (its own, or the nearest parent's)
CREATE FUNCTION fedi_domain_block(p_domain text)
RETURNS SETOF domain_blocks
LANGUAGE sql STABLE AS $$
    SELECT b.* FROM domain_blocks b
     WHERE p_domain IS NOT NULL AND fedi_domain_under(p_domain, b.domain)
     ORDER BY length(b.domain) DESC LIMIT 1
$$;

-- the accounts of a domain take the severity of the block that applies
-- to them now (none: neither suspended nor silenced by a domain block)
CREATE FUNCTION fedi_domain_apply(p_domain text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts a
       SET suspended_at = CASE WHEN b.severity = 'suspend'
                               THEN coalesce(a.suspended_at, now()) END,
           silenced_at = CASE WHEN b.severity = 'silence'
                              THEN coalesce(a.silenced_at, now()) END
      FROM accounts x
      LEFT JOIN LATERAL fedi_domain_block(x.domain) b ON true
     WHERE a.id = x.id AND x.domain IS NOT NULL
       AND fedi_domain_under(x.domain, p_domain);

    -- a suspended domain's follows both ways end, and its posts leave
    -- the home feeds
    DELETE FROM follows f USING accounts a
     WHERE a.suspended_at IS NOT NULL AND a.domain IS NOT NULL
       AND fedi_domain_under(a.domain, p_domain)
       AND (f.account_id = a.id OR f.target_account_id = a.id);

    DELETE FROM feeds fd USING statuses s, accounts a
     WHERE fd.status_id = s.id AND s.account_id = a.id
       AND a.suspended_at IS NOT NULL AND a.domain IS NOT NULL
       AND fedi_domain_under(a.domain, p_domain);
END
$$;

-- block or change a block ('created' or 'updated'); comments not given
-- stay as they were
CREATE FUNCTION fedi_domain_block_set(p_domain text, p_severity text,
                                      p_reject_media boolean,
                                      p_reject_reports boolean,
                                      p_public_comment text,
                                      p_private_comment text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_new boolean;
BEGIN
    INSERT INTO domain_blocks (domain, severity, reject_media,
                               reject_reports, public_comment,
                               private_comment)
    VALUES (lower(rtrim(p_domain, '.')), p_severity, p_reject_media,
            p_reject_reports, coalesce(p_public_comment, ''),
            coalesce(p_private_comment, ''))
    ON CONFLICT (domain) DO UPDATE
       SET severity = excluded.severity,
           reject_media = excluded.reject_media,
           reject_reports = excluded.reject_reports,
           public_comment = coalesce(p_public_comment,
                                     domain_blocks.public_comment),
           private_comment = coalesce(p_private_comment,
                                      domain_blocks.private_comment),
           updated_at = now()
    RETURNING (xmax = 0) INTO v_new;

    PERFORM fedi_domain_apply(lower(rtrim(p_domain, '.')));

    RETURN CASE WHEN v_new THEN 'created' ELSE 'updated' END;
END
$$;

-- lift a block: false when there was none
CREATE FUNCTION fedi_domain_unblock(p_domain text)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM domain_blocks WHERE domain = lower(rtrim(p_domain, '.'));

    IF NOT FOUND THEN
        RETURN false;
    END IF;

    PERFORM fedi_domain_apply(lower(rtrim(p_domain, '.')));

    RETURN true;
END
$$;
