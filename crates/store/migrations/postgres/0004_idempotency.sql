-- Idempotency keys of POST requests. A row is claimed (status NULL) before the request runs
-- and completed with its response, so a retry replays the response instead of repeating the
-- change. Keys are scoped to the caller that sent them.
CREATE TABLE idempotency_keys (
    tenant_id UUID NOT NULL,
    caller TEXT NOT NULL,
    key TEXT NOT NULL,
    request_sha256 BYTEA NOT NULL,
    status BIGINT,
    content_type TEXT,
    body BYTEA,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, caller, key)
);
