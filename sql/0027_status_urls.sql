-- Remote statuses are found by their page's URL too (search with
-- resolve=true), not only by their id.

CREATE INDEX statuses_url ON statuses (url) WHERE url IS NOT NULL;
