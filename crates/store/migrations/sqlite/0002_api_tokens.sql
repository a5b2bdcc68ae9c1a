-- API tokens. Only the SHA-256 of a token is stored; the token itself is shown once.
CREATE TABLE api_tokens (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL,
    created_at_us INTEGER NOT NULL,
    revoked_at_us INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
-- Authentication finds a token by its digest before it knows the tenant.
CREATE UNIQUE INDEX api_tokens_by_secret ON api_tokens (secret_sha256);
