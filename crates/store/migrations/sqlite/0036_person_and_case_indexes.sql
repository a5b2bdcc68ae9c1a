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

-- The case an event is about (a case, or one of its tasks, exports or revocations), so that a
-- case's timeline reads its own events rather than the tenant's whole chain.
ALTER TABLE audit_events ADD COLUMN case_number INTEGER;
UPDATE audit_events
SET case_number = CAST(CASE WHEN instr(target_id, '/') > 0
        THEN substr(target_id, 1, instr(target_id, '/') - 1) ELSE target_id END AS INTEGER)
WHERE target_kind IN ('case', 'task', 'export', 'revocation') AND target_id GLOB '[0-9]*';
CREATE INDEX audit_events_by_case ON audit_events (tenant_id, case_number, seq)
    WHERE case_number IS NOT NULL;

-- The dashboard's weekly chart from a rollup rather than the cases of the weeks it shows: how
-- many cases opened, closed and completed (with their total time open) in each quarter hour,
-- which any time zone's days are made of. Kept by triggers, so no write can forget it.
CREATE TABLE case_activity_slots (
    tenant_id BLOB NOT NULL,
    slot_us INTEGER NOT NULL,
    opened INTEGER NOT NULL DEFAULT 0,
    closed INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    completed_open_us INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, slot_us)
) WITHOUT ROWID;

CREATE TRIGGER case_activity_on_open AFTER INSERT ON cases BEGIN
    INSERT INTO case_activity_slots (tenant_id, slot_us, opened)
        VALUES (NEW.tenant_id, NEW.opened_at_us - NEW.opened_at_us % 900000000, 1)
        ON CONFLICT (tenant_id, slot_us) DO UPDATE SET opened = opened + 1;
END;

CREATE TRIGGER case_activity_on_insert_closed AFTER INSERT ON cases
    WHEN NEW.closed_at_us IS NOT NULL BEGIN
    INSERT INTO case_activity_slots (tenant_id, slot_us, closed, completed, completed_open_us)
        VALUES (NEW.tenant_id, NEW.closed_at_us - NEW.closed_at_us % 900000000, 1,
            NEW.resolution IS 'completed',
            CASE WHEN NEW.resolution IS 'completed'
                THEN NEW.closed_at_us - NEW.opened_at_us ELSE 0 END)
        ON CONFLICT (tenant_id, slot_us) DO UPDATE SET closed = closed + 1,
            completed = completed + excluded.completed,
            completed_open_us = completed_open_us + excluded.completed_open_us;
END;

CREATE TRIGGER case_activity_on_close AFTER UPDATE OF closed_at_us ON cases
    WHEN OLD.closed_at_us IS NULL AND NEW.closed_at_us IS NOT NULL BEGIN
    INSERT INTO case_activity_slots (tenant_id, slot_us, closed, completed, completed_open_us)
        VALUES (NEW.tenant_id, NEW.closed_at_us - NEW.closed_at_us % 900000000, 1,
            NEW.resolution IS 'completed',
            CASE WHEN NEW.resolution IS 'completed'
                THEN NEW.closed_at_us - NEW.opened_at_us ELSE 0 END)
        ON CONFLICT (tenant_id, slot_us) DO UPDATE SET closed = closed + 1,
            completed = completed + excluded.completed,
            completed_open_us = completed_open_us + excluded.completed_open_us;
END;

-- Counted after the triggers exist, as case_counts was.
INSERT INTO case_activity_slots (tenant_id, slot_us, opened)
    SELECT tenant_id, opened_at_us - opened_at_us % 900000000, COUNT(*) FROM cases
    GROUP BY 1, 2;
INSERT INTO case_activity_slots (tenant_id, slot_us, closed, completed, completed_open_us)
    SELECT tenant_id, closed_at_us - closed_at_us % 900000000, COUNT(*),
        SUM(resolution IS 'completed'),
        SUM(CASE WHEN resolution IS 'completed' THEN closed_at_us - opened_at_us ELSE 0 END)
    FROM cases WHERE closed_at_us IS NOT NULL GROUP BY 1, 2
    ON CONFLICT (tenant_id, slot_us) DO UPDATE SET closed = excluded.closed,
        completed = excluded.completed, completed_open_us = excluded.completed_open_us;
DROP INDEX cases_by_opened;
DROP INDEX cases_by_closed;
