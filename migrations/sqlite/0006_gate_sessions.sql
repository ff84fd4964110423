-- 0006 the gate (SPEC section 10): sign-in sessions, pending sign-ins, and two new kinds of
-- fact: identities of an OpenID Connect provider or of SCIM (`oidc`, `scim`), and memberships
-- read by the gate's own sign-in (`signin`, verified). SQLite cannot change a CHECK in place,
-- so identities and memberships are rebuilt: new tables, rows copied, old ones dropped (the
-- children first, so no cascade fires), new ones renamed. Ids and rows are kept as they were.

CREATE TABLE identities_0006 (
    id           INTEGER PRIMARY KEY,
    provider     TEXT NOT NULL CHECK (provider IN ('github', 'github_enterprise', 'gitlab', 'gitlab_enterprise',
                                                   'bitbucket', 'bitbucket_server', 'ldap', 'oidc', 'scim')),
    username     TEXT NOT NULL,
    username_key TEXT NOT NULL CHECK (username_key = lower(username_key)),
    external_id  TEXT,
    email        TEXT,
    person_id    TEXT NOT NULL REFERENCES persons (id),
    created_at   TEXT NOT NULL,
    UNIQUE (provider, username_key)
);
INSERT INTO identities_0006 (id, provider, username, username_key, external_id, email, person_id, created_at)
    SELECT id, provider, username, username_key, external_id, email, person_id, created_at FROM identities;

CREATE TABLE memberships_0006 (
    identity_id INTEGER NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('org', 'team', 'group')),
    name        TEXT NOT NULL CHECK (name = lower(name)),
    source      TEXT NOT NULL CHECK (source IN ('request', 'webhook', 'ldap', 'signin')),
    present     INTEGER NOT NULL DEFAULT 1 CHECK (present IN (0, 1)),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (identity_id, kind, name, source)
);
INSERT INTO memberships_0006 (identity_id, kind, name, source, present, updated_at)
    SELECT identity_id, kind, name, source, present, updated_at FROM memberships;

DROP TABLE memberships;
DROP TABLE identities;
ALTER TABLE identities_0006 RENAME TO identities;
ALTER TABLE memberships_0006 RENAME TO memberships;
CREATE UNIQUE INDEX identities_external ON identities (provider, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX identities_person ON identities (person_id);

-- A session is known by the SHA-256 of its cookie's 256-bit secret, never the secret itself.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY CHECK (id LIKE 's\_%' ESCAPE '\'),
    token_hash   TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    person_id    TEXT NOT NULL REFERENCES persons (id),
    identity     TEXT NOT NULL,
    signin       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL CHECK (expires_at > created_at),
    last_seen_at TEXT NOT NULL,
    user_agent   TEXT NOT NULL DEFAULT '',
    address      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_person ON sessions (person_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Sign-ins under way (ten minutes at most): the hashes of `state` and of the browser's binding
-- secret, the provider and where to go afterwards. Taken (deleted) by the callback: a state
-- works once.
CREATE TABLE signin_attempts (
    state_hash   TEXT PRIMARY KEY CHECK (length(state_hash) = 64),
    binding_hash TEXT NOT NULL CHECK (length(binding_hash) = 64),
    provider     TEXT NOT NULL,
    redirect     TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX signin_attempts_expires ON signin_attempts (expires_at);
