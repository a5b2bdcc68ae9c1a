-- Audit-event webhooks. The audit log is their outbox: each subscription keeps the sequence
-- number of the last event it has dealt with, and a sweep sends what came after, in order.
-- Nothing is written on the write path for them. The secret signs each delivery, sealed.
CREATE TABLE webhook_subscriptions (
    tenant_id UUID NOT NULL,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    sealed_secret BYTEA NOT NULL,
    cursor_seq BIGINT NOT NULL,
    last_error TEXT,
    updated_by UUID NOT NULL,
    updated_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES users (tenant_id, id)
);
