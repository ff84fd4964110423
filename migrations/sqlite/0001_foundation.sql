-- 0001 foundation: licenses, prorations, people (seat column), tokens, audit chain, clock.
-- Append-only: never edit a migration once it has landed; add the next number instead.
-- Times are UTC text 'YYYY-MM-DDTHH:MM:SS[.sss]Z', which sorts in time order.

CREATE TABLE licenses (
    id               INTEGER PRIMARY KEY,
    license_id       TEXT    NOT NULL UNIQUE,
    licensee         TEXT    NOT NULL,
    kid              TEXT    NOT NULL,
    seats            INTEGER NOT NULL CHECK (seats >= 1),
    seat_price_cents INTEGER NOT NULL CHECK (seat_price_cents >= 0),
    currency         TEXT    NOT NULL,
    starts_at        TEXT    NOT NULL,
    expires_at       TEXT    NOT NULL CHECK (expires_at > starts_at),
    term_starts_at   TEXT    NOT NULL CHECK (term_starts_at <= starts_at),
    supersedes       TEXT    REFERENCES licenses (license_id),
    file_text        TEXT    NOT NULL,
    installed_at     TEXT    NOT NULL,
    installed_by     TEXT    NOT NULL,
    in_force         INTEGER NOT NULL DEFAULT 0 CHECK (in_force IN (0, 1))
);
-- At most one license is in force.
CREATE UNIQUE INDEX licenses_one_in_force ON licenses (in_force) WHERE in_force = 1;

CREATE TABLE prorations (
    id               INTEGER PRIMARY KEY,
    license_id       TEXT    NOT NULL UNIQUE REFERENCES licenses (license_id),
    supersedes       TEXT    NOT NULL REFERENCES licenses (license_id),
    added_seats      INTEGER NOT NULL CHECK (added_seats > 0),
    effective_date   TEXT    NOT NULL,
    term_days        INTEGER NOT NULL CHECK (term_days > 0),
    remaining_days   INTEGER NOT NULL CHECK (remaining_days > 0 AND remaining_days <= term_days),
    seat_price_cents INTEGER NOT NULL CHECK (seat_price_cents >= 0),
    amount_cents     INTEGER NOT NULL CHECK (amount_cents >= 0),
    currency         TEXT    NOT NULL,
    recorded_at      TEXT    NOT NULL
);

CREATE TABLE persons (
    id           TEXT PRIMARY KEY CHECK (id LIKE 'p\_%' ESCAPE '\'),
    name         TEXT NOT NULL DEFAULT '',
    email        TEXT,
    role         TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked', 'left_directory')),
    seat         TEXT NOT NULL DEFAULT 'none' CHECK (seat IN ('active', 'none')),
    last_seen_at TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX persons_seat ON persons (seat);

CREATE TABLE tokens (
    name         TEXT PRIMARY KEY,
    scope        TEXT NOT NULL CHECK (scope IN ('authorize', 'admin', 'read')),
    hash         TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
    last_four    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL
);

CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY CHECK (seq >= 1),
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    details   TEXT NOT NULL,
    prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash      TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
);
CREATE INDEX audit_log_at ON audit_log (at);

-- The last entry written, updated in the same transaction: deleting entries from the end
-- of the log is detected by comparing against it.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);

-- The latest wall-clock time Gatehouse has seen: a clock set back more than 24 h is tampering.
CREATE TABLE clock (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    latest_seen_at TEXT NOT NULL
);
