-- The systems a tenant's people have access in, and how Exeunt reaches them. A connector is
-- named after the `system` of the account records it serves. Its secret (a password or a
-- token) is sealed with the tenant's key; the settings hold nothing secret.
CREATE TABLE connectors (
    tenant_id BLOB NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    settings TEXT NOT NULL,
    sealed_secret BLOB NOT NULL,
    updated_by BLOB NOT NULL,
    updated_at_us INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES users (tenant_id, id)
) WITHOUT ROWID;

-- A connector, not a person, may now change a revocation item (changed_by is then NULL), and
-- it leaves its evidence: the calls it made, the answers, what it checked. SQLite cannot drop
-- a NOT NULL, so the table is rebuilt.
CREATE TABLE revocations_new (
    tenant_id BLOB NOT NULL,
    case_id BLOB NOT NULL,
    record_id BLOB NOT NULL,
    status TEXT NOT NULL,
    note TEXT,
    revoked_at_us INTEGER,
    verified_at_us INTEGER,
    changed_by BLOB,
    changed_at_us INTEGER NOT NULL,
    evidence TEXT,
    PRIMARY KEY (tenant_id, case_id, record_id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases (tenant_id, id),
    FOREIGN KEY (tenant_id, record_id) REFERENCES records (tenant_id, id),
    FOREIGN KEY (tenant_id, changed_by) REFERENCES users (tenant_id, id)
) WITHOUT ROWID;
INSERT INTO revocations_new (tenant_id, case_id, record_id, status, note, revoked_at_us,
    verified_at_us, changed_by, changed_at_us)
SELECT tenant_id, case_id, record_id, status, note, revoked_at_us, verified_at_us, changed_by,
    changed_at_us FROM revocations;
DROP TABLE revocations;
ALTER TABLE revocations_new RENAME TO revocations;
