-- 0003 the directory sync's own state (the PostgreSQL twin of migrations/sqlite/0003).

CREATE TABLE directory_sync (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    last_attempt_at TEXT   NOT NULL,
    -- The last sync that read the whole directory and applied (or found nothing to apply).
    last_success_at TEXT,
    -- Why the last attempt failed; NULL when it succeeded.
    last_error      TEXT,
    people          BIGINT NOT NULL DEFAULT 0 CHECK (people >= 0),
    groups_count    BIGINT NOT NULL DEFAULT 0 CHECK (groups_count >= 0)
);
