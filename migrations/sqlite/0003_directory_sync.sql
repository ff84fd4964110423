-- 0003 the directory sync's own state: when it last ran, succeeded or failed, and what it saw.
-- (The people, identities and memberships it maintains live in the tables of 0002.)

CREATE TABLE directory_sync (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    last_attempt_at TEXT    NOT NULL,
    -- The last sync that read the whole directory and applied (or found nothing to apply).
    last_success_at TEXT,
    -- Why the last attempt failed; NULL when it succeeded.
    last_error      TEXT,
    people          INTEGER NOT NULL DEFAULT 0 CHECK (people >= 0),
    groups_count    INTEGER NOT NULL DEFAULT 0 CHECK (groups_count >= 0)
);
