-- 0012 SCIM 2.0 provisioning (SPEC section 13): users and groups pushed by an identity
-- provider (Okta, Entra ID). Each SCIM user is a directory person with a `scim:<userName>`
-- identity; their groups are memberships of source `scim`. The resources themselves are kept
-- as canonical JSON with a version (the ETag), so what a client wrote reads back unchanged.
-- Tokens gain the scope `scim` and memberships the source `scim`: SQLite cannot change a CHECK
-- in place, so both tables are rebuilt (rows copied as they are).

CREATE TABLE tokens_0012 (
    name         TEXT PRIMARY KEY,
    scope        TEXT NOT NULL CHECK (scope IN ('authorize', 'admin', 'read', 'scim')),
    hash         TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
    last_four    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL
);
INSERT INTO tokens_0012 SELECT name, scope, hash, last_four, created_at, created_by FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_0012 RENAME TO tokens;

CREATE TABLE memberships_0012 (
    identity_id INTEGER NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('org', 'team', 'group')),
    name        TEXT NOT NULL CHECK (name = lower(name)),
    source      TEXT NOT NULL CHECK (source IN ('request', 'webhook', 'ldap', 'signin', 'scim')),
    present     INTEGER NOT NULL DEFAULT 1 CHECK (present IN (0, 1)),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (identity_id, kind, name, source)
);
INSERT INTO memberships_0012 (identity_id, kind, name, source, present, updated_at)
    SELECT identity_id, kind, name, source, present, updated_at FROM memberships;
DROP TABLE memberships;
ALTER TABLE memberships_0012 RENAME TO memberships;

CREATE TABLE scim_users (
    id            TEXT PRIMARY KEY,
    user_name_key TEXT NOT NULL UNIQUE CHECK (user_name_key = lower(user_name_key)),
    display_name  TEXT NOT NULL,
    external_id   TEXT,
    resource      TEXT NOT NULL,
    active        INTEGER NOT NULL CHECK (active IN (0, 1)),
    version       INTEGER NOT NULL CHECK (version >= 1),
    identity_id   INTEGER NOT NULL UNIQUE REFERENCES identities (id),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX scim_users_external ON scim_users (external_id);

CREATE TABLE scim_groups (
    id               TEXT PRIMARY KEY,
    display_name     TEXT NOT NULL,
    display_name_key TEXT NOT NULL UNIQUE CHECK (display_name_key = lower(display_name_key)),
    external_id      TEXT,
    resource         TEXT NOT NULL,
    version          INTEGER NOT NULL CHECK (version >= 1),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX scim_groups_external ON scim_groups (external_id);

CREATE TABLE scim_members (
    group_id TEXT NOT NULL REFERENCES scim_groups (id),
    user_id  TEXT NOT NULL REFERENCES scim_users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_members_user ON scim_members (user_id);

-- Departures (deactivations and deletions) for the removal guard, which counts the last hour's;
-- and what an administrator allowed beyond it (`gatehouse scim allow-removals`).
CREATE TABLE scim_removals (
    at      TEXT NOT NULL,
    user_id TEXT NOT NULL
);
CREATE INDEX scim_removals_at ON scim_removals (at);
-- The latest change the guard refused (for the directory.sync_refused notification).
CREATE TABLE scim_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    last_refused_at TEXT NOT NULL,
    last_refusal    TEXT NOT NULL
);
CREATE TABLE scim_allowances (
    until  TEXT NOT NULL,
    people INTEGER NOT NULL CHECK (people >= 1)
);
