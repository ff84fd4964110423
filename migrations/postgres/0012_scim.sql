-- 0012 SCIM 2.0 provisioning (SPEC section 13): users and groups pushed by an identity
-- provider (Okta, Entra ID). Each SCIM user is a directory person with a `scim:<userName>`
-- identity; their groups are memberships of source `scim`. The resources themselves are kept
-- as canonical JSON with a version (the ETag), so what a client wrote reads back unchanged.
-- Tokens gain the scope `scim` and memberships the source `scim`.

ALTER TABLE tokens DROP CONSTRAINT tokens_scope_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_scope_check CHECK (scope IN ('authorize', 'admin', 'read', 'scim'));
ALTER TABLE memberships DROP CONSTRAINT memberships_source_check;
ALTER TABLE memberships ADD CONSTRAINT memberships_source_check CHECK (source IN ('request', 'webhook', 'ldap', 'signin', 'scim'));

CREATE TABLE scim_users (
    id            TEXT PRIMARY KEY,
    user_name_key TEXT NOT NULL UNIQUE CHECK (user_name_key = lower(user_name_key)),
    display_name  TEXT NOT NULL,
    external_id   TEXT,
    resource      TEXT NOT NULL,
    active        INTEGER NOT NULL CHECK (active IN (0, 1)),
    version       BIGINT NOT NULL CHECK (version >= 1),
    identity_id   BIGINT NOT NULL UNIQUE REFERENCES identities (id),
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
    version          BIGINT NOT NULL CHECK (version >= 1),
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
