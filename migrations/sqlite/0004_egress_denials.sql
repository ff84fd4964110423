-- 0004 egress refusals counted per day, destination (host:port) and reason, for the
-- compliance report's "egress denials by destination". A day keeps at most 1,000 distinct
-- destinations; refusals to further ones are counted under '(other destinations)', so a
-- flood of random names stays small.
CREATE TABLE egress_denials (
    day         TEXT    NOT NULL,
    destination TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    count       INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (day, destination, reason)
);
