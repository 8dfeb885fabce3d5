-- The instance actor (https://DOMAIN/actor, Mastodon's): the key this
-- server signs its own fetches with, served to anyone unsigned, so a
-- server in authorized-fetch mode can verify us without asking us first.
-- `fedictl db migrate` generates the key pair the first time.

CREATE TABLE instance_actor (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    private_key  text NOT NULL,
    public_key   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
