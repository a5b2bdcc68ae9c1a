-- Export packages: requested, built in the background by whichever worker claims them, and
-- kept as a sealed blob. A worker holds a lease while it builds; when it dies, the lease ends
-- and another worker starts the build over.
CREATE TABLE exports (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    subject_id BLOB NOT NULL,
    status TEXT NOT NULL,
    failure TEXT,
    blob_id BLOB,
    payload_files INTEGER,
    payload_bytes INTEGER,
    receipt TEXT,
    attempts INTEGER NOT NULL,
    lease_until_us INTEGER,
    requested_by BLOB NOT NULL,
    requested_at_us INTEGER NOT NULL,
    started_at_us INTEGER,
    finished_at_us INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases (tenant_id, id),
    FOREIGN KEY (tenant_id, blob_id) REFERENCES blobs (tenant_id, id)
);
CREATE INDEX exports_by_case ON exports (tenant_id, case_id);
CREATE INDEX exports_to_build ON exports (status, requested_at_us) WHERE status IN ('queued', 'building');
