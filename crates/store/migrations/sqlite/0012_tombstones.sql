-- What is left of a purged subject: which subject it was, when, and a digest of what was
-- destroyed, so that the purge can be shown to have happened without keeping what it erased.
CREATE TABLE tombstones (
    tenant_id BLOB NOT NULL,
    subject_id BLOB NOT NULL,
    subject_kind TEXT NOT NULL,
    case_id BLOB NOT NULL,
    purged_at_us INTEGER NOT NULL,
    purged_by TEXT NOT NULL,
    digest BLOB NOT NULL,
    summary TEXT NOT NULL,
    PRIMARY KEY (tenant_id, subject_id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id)
);
