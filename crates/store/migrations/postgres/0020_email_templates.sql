-- A tenant's own wording of the emails Exeunt sends, per notification kind (minijinja
-- templates, checked when saved). No row: the built-in wording.
CREATE TABLE email_templates (
    tenant_id UUID NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_by UUID NOT NULL,
    updated_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES users (tenant_id, id)
);
