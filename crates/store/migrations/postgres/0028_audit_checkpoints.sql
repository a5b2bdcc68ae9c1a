-- Signed heads of each tenant's audit chain (engine::audit::CheckpointClaims): the token is
-- the compact JWS the tenant's key signed; seq and hash repeat its claims for lookups.
CREATE TABLE audit_checkpoints (
    tenant_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    signed_at_us BIGINT NOT NULL,
    kid TEXT NOT NULL,
    token TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
