-- The dashboard's figures without reading every case: how many of a tenant's cases are in
-- each status, kept by a trigger (so no write can forget them), and the cases opened or
-- closed since a time, read from an index on each.
CREATE TABLE case_counts (
    tenant_id UUID NOT NULL,
    status TEXT NOT NULL,
    cases BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, status)
);

CREATE FUNCTION count_cases() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.status = NEW.status THEN
            RETURN NULL;
        END IF;
        UPDATE case_counts SET cases = cases - 1
            WHERE tenant_id = OLD.tenant_id AND status = OLD.status;
    END IF;
    INSERT INTO case_counts (tenant_id, status, cases) VALUES (NEW.tenant_id, NEW.status, 1)
        ON CONFLICT (tenant_id, status) DO UPDATE SET cases = case_counts.cases + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER case_counts AFTER INSERT OR UPDATE OF status ON cases
    FOR EACH ROW EXECUTE FUNCTION count_cases();

-- Counted after the trigger exists: creating it locks the table against writers until the
-- migration commits, so no case is counted twice or missed.
INSERT INTO case_counts (tenant_id, status, cases)
    SELECT tenant_id, status, COUNT(*) FROM cases GROUP BY tenant_id, status;

CREATE INDEX cases_by_opened ON cases (tenant_id, opened_at_us);
CREATE INDEX cases_by_closed ON cases (tenant_id, closed_at_us);
