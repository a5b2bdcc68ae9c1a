-- Legal holds (on one subject, or on the whole tenant when subject_id is NULL) and retention
-- policies (per subject kind, '*' for the tenant's default). Holds are never deleted: lifting
-- one records who, when and why.
CREATE TABLE legal_holds (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    subject_id BLOB,
    reason TEXT NOT NULL,
    placed_by BLOB NOT NULL,
    placed_at_us INTEGER NOT NULL,
    lifted_by BLOB,
    lifted_at_us INTEGER,
    lift_reason TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id),
    FOREIGN KEY (tenant_id, placed_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX legal_holds_by_subject ON legal_holds (tenant_id, subject_id);

CREATE TABLE retention_policies (
    tenant_id BLOB NOT NULL,
    subject_kind TEXT NOT NULL,
    period TEXT NOT NULL,
    set_by BLOB NOT NULL,
    set_at_us INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, subject_kind),
    FOREIGN KEY (tenant_id, set_by) REFERENCES users (tenant_id, id)
);
