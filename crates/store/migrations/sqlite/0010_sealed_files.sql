-- Files at rest are sealed: each subject has a data key (stored sealed by the tenant key), and
-- each file is a blob of chunks sealed by it. Destroying the data key destroys every file of
-- the subject, wherever copies of the chunks went.
CREATE TABLE subject_keys (
    tenant_id BLOB NOT NULL,
    subject_id BLOB NOT NULL,
    sealed_key BLOB NOT NULL,
    created_at_us INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, subject_id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id)
);

CREATE TABLE blobs (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    subject_id BLOB NOT NULL,
    size INTEGER NOT NULL,
    sha256 BLOB NOT NULL,
    chunks INTEGER NOT NULL,
    created_at_us INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id)
);
CREATE INDEX blobs_by_subject ON blobs (tenant_id, subject_id);

-- A rowid table: chunks are large, which WITHOUT ROWID tables store poorly.
CREATE TABLE blob_chunks (
    tenant_id BLOB NOT NULL,
    blob_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (tenant_id, blob_id, seq),
    FOREIGN KEY (tenant_id, blob_id) REFERENCES blobs (tenant_id, id)
);

-- A document record's file.
CREATE TABLE record_files (
    tenant_id BLOB NOT NULL,
    record_id BLOB NOT NULL,
    blob_id BLOB NOT NULL,
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    added_by BLOB NOT NULL,
    added_at_us INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, record_id),
    FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id),
    FOREIGN KEY (tenant_id, blob_id) REFERENCES blobs (tenant_id, id)
);

-- Evidence written from now on is a sealed blob; `content` stays empty for it. Evidence
-- stored before this version keeps its bytes in `content`.
ALTER TABLE evidence ADD COLUMN blob_id BLOB;
