-- 0005 periodic jobs (directory sync, inactivity sweep) run on one replica at a time: a
-- replica runs a job only while it holds the job's lease; a lease not renewed expires, and
-- another replica takes the job over.
CREATE TABLE job_leases (
    job        TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
