-- Background jobs, written in the transaction of the change that asks for them (a
-- transactional outbox): nothing is sent for a change that rolled back, and nothing a change
-- asked for is lost. A worker claims a due job under a lease; a failed attempt is retried later
-- until its attempts are spent, then the job is dead with its last error. The idempotency key
-- makes enqueueing the same work twice one job, and goes to the external system where it takes
-- one.
CREATE TABLE jobs (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    case_id UUID,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    run_at_us BIGINT NOT NULL,
    lease_until_us BIGINT,
    worker TEXT,
    last_error TEXT,
    created_at_us BIGINT NOT NULL,
    finished_at_us BIGINT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, idempotency_key)
);
-- What workers look for: due jobs, in the order they fell due.
CREATE INDEX jobs_due ON jobs (status, run_at_us);
CREATE INDEX jobs_by_case ON jobs (tenant_id, case_id);
