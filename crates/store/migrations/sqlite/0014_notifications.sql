-- What a person is told: a task or a case was given to them. Written in the transaction of
-- the change; the summary names cases and tasks, never a subject's personal data, so a purge
-- has nothing to erase here. Email delivery reads the same rows.
CREATE TABLE notifications (
    tenant_id BLOB NOT NULL,
    id BLOB NOT NULL,
    user_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at_us INTEGER NOT NULL,
    read_at_us INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX notifications_by_user ON notifications (tenant_id, user_id, created_at_us);
