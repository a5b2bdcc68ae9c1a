-- What is left of a purged subject: which subject it was, when, and a digest of what was
-- destroyed, so that the purge can be shown to have happened without keeping what it erased.
CREATE TABLE tombstones (
    tenant_id UUID NOT NULL,
    subject_id UUID NOT NULL,
    subject_kind TEXT NOT NULL,
    case_id UUID NOT NULL,
    purged_at_us BIGINT NOT NULL,
    purged_by TEXT NOT NULL,
    digest BYTEA NOT NULL,
    summary TEXT NOT NULL,
    PRIMARY KEY (tenant_id, subject_id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id)
);
