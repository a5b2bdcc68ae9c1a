-- Reminders already sent: one row per reminder (a task's 7-day and 2-day notice, and each day
-- it is overdue), so a sweep that runs again, or on another server, sends nothing twice.
CREATE TABLE reminders (
    tenant_id UUID NOT NULL,
    key TEXT NOT NULL,
    sent_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
