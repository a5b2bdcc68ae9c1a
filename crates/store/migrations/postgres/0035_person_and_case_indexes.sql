-- A person's open tasks, soonest due first, read by each way a task can be theirs: assigned
-- to them, or unassigned and owned by one of their teams or by them through a role. Each
-- index holds only the tasks of one way, in due order, so a page costs the same whatever the
-- rest of the tenant holds.
DROP INDEX tasks_open_by_assignee;
CREATE INDEX tasks_open_by_assignee
    ON tasks (tenant_id, assignee, (due_at_us IS NULL), due_at_us, case_id, position)
    WHERE status = 'open';
CREATE INDEX tasks_open_by_owner
    ON tasks (tenant_id, owner, (due_at_us IS NULL), due_at_us, case_id, position)
    WHERE status = 'open' AND assignee IS NULL;
CREATE INDEX tasks_open_by_owner_label
    ON tasks (tenant_id, lower(owner_label), (due_at_us IS NULL), due_at_us, case_id, position)
    WHERE status = 'open' AND assignee IS NULL;

-- Open tasks due before a time (the overdue): PostgreSQL cannot read a range of due times
-- from tasks_open_by_due, whose first column after the tenant is `due_at_us IS NULL` (it turns
-- `(due_at_us IS NULL) = FALSE` into `due_at_us IS NOT NULL` before it matches indexes);
-- SQLite can, so it has no such index.
CREATE INDEX tasks_open_by_due_time ON tasks (tenant_id, due_at_us, case_id, position)
    WHERE status = 'open' AND due_at_us IS NOT NULL;

-- The case an event is about (a case, or one of its tasks, exports or revocations), so that a
-- case's timeline reads its own events rather than the tenant's whole chain.
ALTER TABLE audit_events ADD COLUMN case_number BIGINT;
UPDATE audit_events SET case_number = split_part(target_id, '/', 1)::bigint
WHERE target_kind IN ('case', 'task', 'export', 'revocation')
  AND split_part(target_id, '/', 1) ~ '^[0-9]{1,18}$';
CREATE INDEX audit_events_by_case ON audit_events (tenant_id, case_number, seq)
    WHERE case_number IS NOT NULL;

-- The dashboard's weekly chart from a rollup rather than the cases of the weeks it shows: how
-- many cases opened, closed and completed (with their total time open) in each quarter hour,
-- which any time zone's days are made of. Kept by a trigger, so no write can forget it.
CREATE TABLE case_activity_slots (
    tenant_id UUID NOT NULL,
    slot_us BIGINT NOT NULL,
    opened BIGINT NOT NULL DEFAULT 0,
    closed BIGINT NOT NULL DEFAULT 0,
    completed BIGINT NOT NULL DEFAULT 0,
    completed_open_us BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, slot_us)
);

CREATE FUNCTION count_case_activity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    done BOOLEAN := NEW.resolution IS NOT DISTINCT FROM 'completed';
    closing BOOLEAN := NEW.closed_at_us IS NOT NULL;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_activity_slots (tenant_id, slot_us, opened)
            VALUES (NEW.tenant_id, NEW.opened_at_us - NEW.opened_at_us % 900000000, 1)
            ON CONFLICT (tenant_id, slot_us)
            DO UPDATE SET opened = case_activity_slots.opened + 1;
    ELSIF OLD.closed_at_us IS NOT NULL THEN
        closing := FALSE;
    END IF;
    IF closing THEN
        INSERT INTO case_activity_slots (tenant_id, slot_us, closed, completed, completed_open_us)
            VALUES (NEW.tenant_id, NEW.closed_at_us - NEW.closed_at_us % 900000000, 1,
                CASE WHEN done THEN 1 ELSE 0 END,
                CASE WHEN done THEN NEW.closed_at_us - NEW.opened_at_us ELSE 0 END)
            ON CONFLICT (tenant_id, slot_us) DO UPDATE SET
                closed = case_activity_slots.closed + 1,
                completed = case_activity_slots.completed + excluded.completed,
                completed_open_us = case_activity_slots.completed_open_us
                    + excluded.completed_open_us;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER case_activity AFTER INSERT OR UPDATE OF closed_at_us ON cases
    FOR EACH ROW EXECUTE FUNCTION count_case_activity();

-- Counted after the trigger exists, as case_counts was.
INSERT INTO case_activity_slots (tenant_id, slot_us, opened)
    SELECT tenant_id, opened_at_us - opened_at_us % 900000000, COUNT(*) FROM cases
    GROUP BY 1, 2;
INSERT INTO case_activity_slots (tenant_id, slot_us, closed, completed, completed_open_us)
    SELECT tenant_id, closed_at_us - closed_at_us % 900000000, COUNT(*),
        COUNT(*) FILTER (WHERE resolution = 'completed'),
        COALESCE(SUM(closed_at_us - opened_at_us) FILTER (WHERE resolution = 'completed'), 0)
    FROM cases WHERE closed_at_us IS NOT NULL GROUP BY 1, 2
    ON CONFLICT (tenant_id, slot_us) DO UPDATE SET closed = excluded.closed,
        completed = excluded.completed, completed_open_us = excluded.completed_open_us;
DROP INDEX cases_by_opened;
DROP INDEX cases_by_closed;
