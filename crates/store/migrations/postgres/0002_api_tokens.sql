-- API tokens. Only the SHA-256 of a token is stored; the token itself is shown once.
CREATE TABLE api_tokens (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    user_id UUID NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_sha256 BYTEA NOT NULL,
    created_at_us BIGINT NOT NULL,
    revoked_at_us BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
-- Authentication finds a token by its digest before it knows the tenant.
CREATE UNIQUE INDEX api_tokens_by_secret ON api_tokens (secret_sha256);
