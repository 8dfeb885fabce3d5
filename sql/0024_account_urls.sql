-- Remote accounts are found by their profile page's URL too (search with
-- resolve, https://host/@name), not only by their actor id.

CREATE INDEX accounts_url ON accounts (url) WHERE domain IS NOT NULL;
