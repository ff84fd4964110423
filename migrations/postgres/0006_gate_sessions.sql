-- 0006 the gate (SPEC section 10): sign-in sessions, pending sign-ins, identities of an OpenID
-- Connect provider or of SCIM (`oidc`, `scim`), and memberships read by the gate's own
-- sign-in (`signin`, verified). The PostgreSQL twin of migrations/sqlite/0006.

ALTER TABLE identities DROP CONSTRAINT identities_provider_check;
ALTER TABLE identities ADD CONSTRAINT identities_provider_check CHECK (provider IN ('github', 'github_enterprise', 'gitlab',
    'gitlab_enterprise', 'bitbucket', 'bitbucket_server', 'ldap', 'oidc', 'scim'));
ALTER TABLE memberships DROP CONSTRAINT memberships_source_check;
ALTER TABLE memberships ADD CONSTRAINT memberships_source_check CHECK (source IN ('request', 'webhook', 'ldap', 'signin'));

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

-- Sign-ins under way (ten minutes at most), taken (deleted) by the callback: a state works once.
CREATE TABLE signin_attempts (
    state_hash   TEXT PRIMARY KEY CHECK (length(state_hash) = 64),
    binding_hash TEXT NOT NULL CHECK (length(binding_hash) = 64),
    provider     TEXT NOT NULL,
    redirect     TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX signin_attempts_expires ON signin_attempts (expires_at);
