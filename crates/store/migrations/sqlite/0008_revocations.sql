-- How far the revocation of each account and integration got in a case. A record with no row
-- here is pending.
CREATE TABLE revocations (
    tenant_id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    record_id BLOB NOT NULL,
    status TEXT NOT NULL,
    note TEXT,
    revoked_at_us INTEGER,
    verified_at_us INTEGER,
    changed_by BLOB NOT NULL,
    changed_at_us INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, case_id, record_id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases (tenant_id, id),
    FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id),
    FOREIGN KEY (tenant_id, changed_by) REFERENCES users (tenant_id, id)
) WITHOUT ROWID;
