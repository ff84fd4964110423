-- 0004 egress refusals counted per day, destination (host:port) and reason (the PostgreSQL
-- twin of migrations/sqlite/0004; at most 1,000 destinations a day, then '(other destinations)').
CREATE TABLE egress_denials (
    day         TEXT   NOT NULL,
    destination TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    count       BIGINT NOT NULL CHECK (count >= 0),
    PRIMARY KEY (day, destination, reason)
);
