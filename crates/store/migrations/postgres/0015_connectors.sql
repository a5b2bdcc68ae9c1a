-- The systems a tenant's people have access in, and how Exeunt reaches them. A connector is
-- named after the `system` of the account records it serves. Its secret (a password or a
-- token) is sealed with the tenant's key; the settings hold nothing secret.
CREATE TABLE connectors (
    tenant_id UUID NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    settings TEXT NOT NULL,
    sealed_secret BYTEA NOT NULL,
    updated_by UUID NOT NULL,
    updated_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES users (tenant_id, id)
);

-- A connector, not a person, may now change a revocation item (changed_by is then NULL), and
-- it leaves its evidence: the calls it made, the answers, what it checked.
ALTER TABLE revocations ALTER COLUMN changed_by DROP NOT NULL;
ALTER TABLE revocations ADD COLUMN evidence TEXT;
