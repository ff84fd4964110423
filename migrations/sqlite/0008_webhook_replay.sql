-- 0008 a webhook replayed with a new delivery id: each applied delivery keeps the SHA-256 of
-- its signed body (a body already applied within the replay window is refused, whatever its
-- id), the membership it changed and, where the provider dates its events (GitLab), the
-- event's time (an event older than the newest applied for that membership is ignored).
ALTER TABLE webhook_deliveries ADD COLUMN body_sha256 TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN membership TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN event_at TEXT;
CREATE INDEX webhook_deliveries_body ON webhook_deliveries (provider, body_sha256);
CREATE INDEX webhook_deliveries_membership ON webhook_deliveries (provider, membership);
