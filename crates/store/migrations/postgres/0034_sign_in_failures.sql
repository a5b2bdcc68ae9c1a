-- Failed sign-ins, counted in the database so that every server of one database shares the
-- same budget (a count kept in each process would give an attacker one budget per server).
-- A key is an account (`account:<tenant>:<email>`) or a client address (`address:<ip>`):
-- credentials, not a tenant's data, so an address spans tenants.
CREATE TABLE sign_in_failures (
    key TEXT NOT NULL,
    at_us BIGINT NOT NULL,
    id UUID NOT NULL,
    PRIMARY KEY (key, at_us, id)
);

-- Failures older than the window are forgotten, all keys at once.
CREATE INDEX sign_in_failures_by_time ON sign_in_failures (at_us);
