-- Idempotency keys of POST requests. A row is claimed (status NULL) before the request runs
-- and completed with its response, so a retry replays the response instead of repeating the
-- change. Keys are scoped to the caller that sent them.
CREATE TABLE idempotency_keys (
    tenant_id BLOB NOT NULL,
    caller TEXT NOT NULL,
    key TEXT NOT NULL,
    request_sha256 BLOB NOT NULL,
    status INTEGER,
    content_type TEXT,
    body BLOB,
    created_at_us INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, caller, key)
);
