-- Files at rest are sealed: each subject has a data key (stored sealed by the tenant key), and
-- each file is a blob of chunks sealed by it. Destroying the data key destroys every file of
-- the subject, wherever copies of the chunks went.
CREATE TABLE subject_keys (
    tenant_id UUID NOT NULL,
    subject_id UUID NOT NULL,
    sealed_key BYTEA NOT NULL,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject_id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id)
);

CREATE TABLE blobs (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    subject_id UUID NOT NULL,
    size BIGINT NOT NULL,
    sha256 BYTEA NOT NULL,
    chunks BIGINT NOT NULL,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id)
);
CREATE INDEX blobs_by_subject ON blobs (tenant_id, subject_id);

CREATE TABLE blob_chunks (
    tenant_id UUID NOT NULL,
    blob_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    sealed BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, blob_id, seq),
    FOREIGN KEY (tenant_id, blob_id) REFERENCES blobs (tenant_id, id)
);

-- A document record's file.
CREATE TABLE record_files (
    tenant_id UUID NOT NULL,
    record_id UUID NOT NULL,
    blob_id UUID NOT NULL,
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    added_by UUID NOT NULL,
    added_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, record_id),
    FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id),
    FOREIGN KEY (tenant_id, blob_id) REFERENCES blobs (tenant_id, id)
);

-- Evidence written from now on is a sealed blob; `content` stays empty for it. Evidence
-- stored before this version keeps its bytes in `content`.
ALTER TABLE evidence ADD COLUMN blob_id UUID;
