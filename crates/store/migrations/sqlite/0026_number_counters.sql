-- Case and record numbers come from counters, taken in the transaction that uses them, so that
-- concurrent writers (several servers on one PostgreSQL) never draw the same number, and a
-- subject's next record number costs the same at its 100,000th record as at its first.
CREATE TABLE case_numbers (
    tenant_id BLOB PRIMARY KEY REFERENCES tenants (id),
    last INTEGER NOT NULL
);
INSERT INTO case_numbers (tenant_id, last)
SELECT tenant_id, MAX(number) FROM cases GROUP BY tenant_id;
ALTER TABLE subjects ADD COLUMN last_record_number INTEGER NOT NULL DEFAULT 0;
UPDATE subjects SET last_record_number = r.last
FROM (SELECT tenant_id, subject_id, MAX(number) AS last FROM records GROUP BY tenant_id, subject_id) r
WHERE r.tenant_id = subjects.tenant_id AND r.subject_id = subjects.id;
