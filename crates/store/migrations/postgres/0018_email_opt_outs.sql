-- The kinds of notification a person does not want by email (they still see them in the
-- Offboarding Center). No row: they want it.
CREATE TABLE email_opt_outs (
    tenant_id UUID NOT NULL,
    user_id UUID NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, kind),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
