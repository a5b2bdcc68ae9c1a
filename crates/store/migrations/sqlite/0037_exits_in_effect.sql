-- The running cases whose exit has taken effect for access, for the open-exposures gauge the
-- worker refreshes every minute: those past their exit date, and those whose open
-- access-removal task is due. Each index holds only running cases' rows, so the minute reads
-- what it reports rather than every case of the tenant.
CREATE INDEX cases_running_by_exit ON cases (tenant_id, exit_date)
    WHERE status IN ('open', 'in_progress', 'review');
CREATE INDEX tasks_open_access_by_due ON tasks (tenant_id, due_at_us)
    WHERE action = 'revoke-access' AND status = 'open';
