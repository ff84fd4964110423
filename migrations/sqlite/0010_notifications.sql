-- 0010 notifications (SPEC section 12): an outbox. Each occurrence of an event is queued once
-- per channel — (channel, occurrence) is unique, so a restart or a second replica raising the
-- same occurrence queues nothing — and delivered by whichever replica claims the row first
-- (claimed_until: a claim not finished in time passes to another). Failed deliveries are tried
-- again with backoff (next_attempt_at) and given up after a day. Queueing and each outcome are
-- in the audit log.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL,
    occurrence      TEXT NOT NULL,
    event           TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    details         TEXT NOT NULL,
    raised_at       TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT NOT NULL,
    claimed_by      TEXT,
    claimed_until   TEXT,
    last_error      TEXT,
    sent_at         TEXT,
    UNIQUE (channel, occurrence)
);
CREATE INDEX notifications_due ON notifications (state, next_attempt_at);

-- The removal guard's latest refusal, kept apart from last_error (which the next failure of
-- any kind replaces), so that a refused sync is told once per episode.
ALTER TABLE directory_sync ADD COLUMN last_refused_at TEXT;
ALTER TABLE directory_sync ADD COLUMN last_refusal TEXT;
