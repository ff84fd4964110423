-- 0007 the latest time Gatehouse has seen is proven by the audit chain: the server appends a
-- `clock.observe` entry (bounded by how much real time has passed), an administrator may
-- append `clock.reset` to clear a false alarm, and both are found by action. The `clock` row
-- stays as a finer-grained hint; editing it can no longer hide a clock set back.
CREATE INDEX audit_log_action ON audit_log (action, seq);
