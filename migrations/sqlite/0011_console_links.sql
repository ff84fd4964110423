-- 0011 the console's one-time sign-in links (SPEC section 11): `gatehouse console sign-in-link`
-- lets the first administrator in before any sign-in provider is set up. Only the link's
-- SHA-256 is kept; it is taken once (deleted when used) and is good for ten minutes.
CREATE TABLE console_links (
    token_hash TEXT PRIMARY KEY CHECK (length(token_hash) = 64),
    identity   TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
