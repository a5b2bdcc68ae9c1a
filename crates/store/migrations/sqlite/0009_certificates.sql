-- Each tenant's Ed25519 signing keys (the private half sealed by the tenant key, never stored
-- in the clear) and the completion certificates signed with them.
CREATE TABLE signing_keys (
    tenant_id BLOB NOT NULL REFERENCES tenants (id),
    kid TEXT NOT NULL,
    public_key BLOB NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at_us INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kid)
);

CREATE TABLE certificates (
    tenant_id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    kid TEXT NOT NULL,
    token TEXT NOT NULL,
    issued_at_us INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, case_id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases (tenant_id, id),
    FOREIGN KEY (tenant_id, kid) REFERENCES signing_keys (tenant_id, kid)
);
