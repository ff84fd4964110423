-- 0002 people, identities, memberships, seat events, policy sets, denial counts.

CREATE TABLE identities (
    id           INTEGER PRIMARY KEY,
    provider     TEXT NOT NULL CHECK (provider IN ('github', 'github_enterprise', 'gitlab', 'gitlab_enterprise',
                                                   'bitbucket', 'bitbucket_server', 'ldap')),
    username     TEXT NOT NULL,
    -- Usernames compare case-insensitively: the key is the lowercased username.
    username_key TEXT NOT NULL CHECK (username_key = lower(username_key)),
    -- The provider's stable id: a renamed account keeps its identity (and seat).
    external_id  TEXT,
    email        TEXT,
    person_id    TEXT NOT NULL REFERENCES persons (id),
    created_at   TEXT NOT NULL,
    UNIQUE (provider, username_key)
);
CREATE UNIQUE INDEX identities_external ON identities (provider, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX identities_person ON identities (person_id);
CREATE INDEX persons_email ON persons (lower(email));

CREATE TABLE memberships (
    identity_id INTEGER NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('org', 'team', 'group')),
    name        TEXT NOT NULL CHECK (name = lower(name)),
    source      TEXT NOT NULL CHECK (source IN ('request', 'webhook', 'ldap')),
    -- 0: the provider said this membership ended (a webhook removal overrides stale claims).
    present     INTEGER NOT NULL DEFAULT 1 CHECK (present IN (0, 1)),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (identity_id, kind, name, source)
);

CREATE TABLE seat_events (
    id           INTEGER PRIMARY KEY,
    person_id    TEXT    NOT NULL REFERENCES persons (id),
    event        TEXT    NOT NULL CHECK (event IN ('activate', 'deactivate')),
    at           TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    -- Seats active right after this event: the daily series and the peak derive from it.
    active_after INTEGER NOT NULL CHECK (active_after >= 0)
);
CREATE INDEX seat_events_at ON seat_events (at);

CREATE TABLE policy_sets (
    id         INTEGER PRIMARY KEY,
    sha256     TEXT    NOT NULL CHECK (length(sha256) = 64),
    -- The files as applied: a JSON object of file name to text.
    files      TEXT    NOT NULL,
    applied_at TEXT    NOT NULL,
    applied_by TEXT    NOT NULL,
    in_force   INTEGER NOT NULL DEFAULT 0 CHECK (in_force IN (0, 1))
);
CREATE UNIQUE INDEX policy_sets_one_in_force ON policy_sets (in_force) WHERE in_force = 1;

-- Webhook deliveries already handled: a replay (same delivery id) changes nothing.
CREATE TABLE webhook_deliveries (
    provider    TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    event       TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (provider, delivery_id)
);

-- Denied decisions, counted per day and reason (a flood of denials stays small).
CREATE TABLE denial_counts (
    day    TEXT    NOT NULL,
    kind   TEXT    NOT NULL CHECK (kind IN ('login', 'upload', 'egress')),
    reason TEXT    NOT NULL,
    count  INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (day, kind, reason)
);

-- The latest individual denials (the newest 1,000 are kept; older ones live on as counts).
CREATE TABLE recent_denials (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('login', 'upload', 'egress')),
    reason  TEXT NOT NULL,
    subject TEXT NOT NULL
);

-- Active seats, kept exact by triggers whatever changes a person's seat, so the seat-limit
-- check inside an activation is one row read rather than a count over every seat holder.
CREATE TABLE seat_counter (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    active INTEGER NOT NULL CHECK (active >= 0)
);
INSERT INTO seat_counter (id, active) SELECT 1, COUNT(*) FROM persons WHERE seat = 'active';

CREATE TRIGGER persons_seat_insert AFTER INSERT ON persons WHEN NEW.seat = 'active'
BEGIN
    UPDATE seat_counter SET active = active + 1 WHERE id = 1;
END;

CREATE TRIGGER persons_seat_update AFTER UPDATE OF seat ON persons WHEN OLD.seat <> NEW.seat
BEGIN
    UPDATE seat_counter SET active = active + (CASE WHEN NEW.seat = 'active' THEN 1 ELSE -1 END) WHERE id = 1;
END;

CREATE TRIGGER persons_seat_delete AFTER DELETE ON persons WHEN OLD.seat = 'active'
BEGIN
    UPDATE seat_counter SET active = active - 1 WHERE id = 1;
END;
