-- A tenant's own wording of the emails Exeunt sends, per notification kind (minijinja
-- templates, checked when saved). No row: the built-in wording.
CREATE TABLE email_templates (
    tenant_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_by BLOB NOT NULL,
    updated_at_us INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES users (tenant_id, id)
) WITHOUT ROWID;
