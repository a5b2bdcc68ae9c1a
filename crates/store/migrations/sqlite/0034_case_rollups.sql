-- The dashboard's figures without reading every case: how many of a tenant's cases are in
-- each status, kept by triggers (so no write can forget them), and the cases opened or
-- closed since a time, read from an index on each.
CREATE TABLE case_counts (
    tenant_id BLOB NOT NULL,
    status TEXT NOT NULL,
    cases INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, status)
) WITHOUT ROWID;

CREATE TRIGGER case_counts_on_insert AFTER INSERT ON cases BEGIN
    INSERT INTO case_counts (tenant_id, status, cases) VALUES (NEW.tenant_id, NEW.status, 1)
        ON CONFLICT (tenant_id, status) DO UPDATE SET cases = cases + 1;
END;

CREATE TRIGGER case_counts_on_status AFTER UPDATE OF status ON cases
    WHEN OLD.status <> NEW.status BEGIN
    UPDATE case_counts SET cases = cases - 1
        WHERE tenant_id = OLD.tenant_id AND status = OLD.status;
    INSERT INTO case_counts (tenant_id, status, cases) VALUES (NEW.tenant_id, NEW.status, 1)
        ON CONFLICT (tenant_id, status) DO UPDATE SET cases = cases + 1;
END;

-- Counted after the trigger exists: creating it locks the table against writers until the
-- migration commits, so no case is counted twice or missed.
INSERT INTO case_counts (tenant_id, status, cases)
    SELECT tenant_id, status, COUNT(*) FROM cases GROUP BY tenant_id, status;

CREATE INDEX cases_by_opened ON cases (tenant_id, opened_at_us);
CREATE INDEX cases_by_closed ON cases (tenant_id, closed_at_us);
