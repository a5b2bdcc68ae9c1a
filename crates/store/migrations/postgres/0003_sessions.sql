-- Passwords (Argon2id, PHC strings) and signed-in sessions. Only the SHA-256 of a session
-- cookie is stored.
ALTER TABLE users ADD COLUMN password_changed_at_us BIGINT;

CREATE TABLE sessions (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    user_id UUID NOT NULL,
    secret_sha256 BYTEA NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    expires_at_us BIGINT NOT NULL,
    revoked_at_us BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
-- Like tokens, a session is found by its digest before its tenant is known.
CREATE UNIQUE INDEX sessions_by_secret ON sessions (secret_sha256);
CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id);
