-- Export packages: requested, built in the background by whichever worker claims them, and
-- kept as a sealed blob. A worker holds a lease while it builds; when it dies, the lease ends
-- and another worker starts the build over.
CREATE TABLE exports (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    case_id UUID NOT NULL,
    subject_id UUID NOT NULL,
    status TEXT NOT NULL,
    failure TEXT,
    blob_id UUID,
    payload_files BIGINT,
    payload_bytes BIGINT,
    receipt TEXT,
    attempts BIGINT NOT NULL,
    lease_until_us BIGINT,
    requested_by UUID NOT NULL,
    requested_at_us BIGINT NOT NULL,
    started_at_us BIGINT,
    finished_at_us BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases (tenant_id, id),
    FOREIGN KEY (tenant_id, blob_id) REFERENCES blobs (tenant_id, id)
);
CREATE INDEX exports_by_case ON exports (tenant_id, case_id);
CREATE INDEX exports_to_build ON exports (status, requested_at_us) WHERE status IN ('queued', 'building');
