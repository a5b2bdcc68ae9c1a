-- Every listing reads an index in its own order for the filters it has, so that a page costs
-- the same in a tenant of a million cases as in one of ten (`queries/conditions.rs` writes
-- only the filters given; `tests/plans.rs` checks the plans).

-- Cases, newest first: all, by status, by subject, by parent.
CREATE INDEX cases_by_status ON cases (tenant_id, status, number);
CREATE INDEX cases_by_subject ON cases (tenant_id, subject_id, number);
DROP INDEX cases_by_parent;
CREATE INDEX cases_by_parent ON cases (tenant_id, parent_id, number);

-- Subjects, by kind then key: all, of a kind, a client's products.
DROP INDEX subjects_by_kind;
CREATE INDEX subjects_by_kind ON subjects (tenant_id, kind, key);
CREATE INDEX subjects_by_parent ON subjects (tenant_id, parent_id, kind, key);

-- Open tasks, soonest due first (those with no due time last), for the task lists and a
-- person's tasks.
CREATE INDEX tasks_open_by_due ON tasks (tenant_id, (due_at_us IS NULL), due_at_us, case_id, position)
    WHERE status = 'open';

-- Jobs, newest first: all, by status, by case.
CREATE INDEX jobs_by_tenant ON jobs (tenant_id, created_at_us, id);
CREATE INDEX jobs_by_status ON jobs (tenant_id, status, created_at_us, id);
DROP INDEX jobs_by_case;
CREATE INDEX jobs_by_case ON jobs (tenant_id, case_id, created_at_us, id);

-- The audit log by what an event is about, in chain order.
DROP INDEX audit_by_target;
CREATE INDEX audit_by_target ON audit_events (tenant_id, target_kind, target_id, seq);
