-- Legal holds (on one subject, or on the whole tenant when subject_id is NULL) and retention
-- policies (per subject kind, '*' for the tenant's default). Holds are never deleted: lifting
-- one records who, when and why.
CREATE TABLE legal_holds (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    subject_id UUID,
    reason TEXT NOT NULL,
    placed_by UUID NOT NULL,
    placed_at_us BIGINT NOT NULL,
    lifted_by UUID,
    lifted_at_us BIGINT,
    lift_reason TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id),
    FOREIGN KEY (tenant_id, placed_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX legal_holds_by_subject ON legal_holds (tenant_id, subject_id);

CREATE TABLE retention_policies (
    tenant_id UUID NOT NULL,
    subject_kind TEXT NOT NULL,
    period TEXT NOT NULL,
    set_by UUID NOT NULL,
    set_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject_kind),
    FOREIGN KEY (tenant_id, set_by) REFERENCES users (tenant_id, id)
);
