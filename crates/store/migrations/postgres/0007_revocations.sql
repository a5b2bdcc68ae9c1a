-- How far the revocation of each account and integration got in a case. A record with no row
-- here is pending.
CREATE TABLE revocations (
    tenant_id UUID NOT NULL,
    case_id UUID NOT NULL,
    record_id UUID NOT NULL,
    status TEXT NOT NULL,
    note TEXT,
    revoked_at_us BIGINT,
    verified_at_us BIGINT,
    changed_by UUID NOT NULL,
    changed_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, case_id, record_id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases (tenant_id, id),
    FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id),
    FOREIGN KEY (tenant_id, changed_by) REFERENCES users (tenant_id, id)
);
