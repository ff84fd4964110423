-- 0009 seat requests (seats.when_full: request): one pending request per person, filed when a
-- login or a private upload finds no free seat; granted oldest first when seats free up, or
-- approved or rejected by an administrator. Each step is in the audit log; only pending
-- requests are kept here.
CREATE TABLE seat_requests (
    person_id    TEXT PRIMARY KEY REFERENCES persons (id) ON DELETE CASCADE,
    identity     TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('login', 'upload', 'admin')),
    requested_at TEXT NOT NULL
);
CREATE INDEX seat_requests_oldest ON seat_requests (requested_at, person_id);
