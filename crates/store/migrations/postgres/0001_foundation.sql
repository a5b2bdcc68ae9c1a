-- Exeunt schema, PostgreSQL. Every table carries tenant_id first in its key: nothing is shared
-- between tenants. Times are microseconds since the Unix epoch, UTC (columns ending in _us).

CREATE TABLE tenants (
    id UUID PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at_us BIGINT NOT NULL
);

CREATE TABLE users (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email)
);

CREATE TABLE teams (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, slug)
);

CREATE TABLE team_members (
    tenant_id UUID NOT NULL,
    team_slug TEXT NOT NULL,
    user_id UUID NOT NULL,
    PRIMARY KEY (tenant_id, team_slug, user_id),
    FOREIGN KEY (tenant_id, team_slug) REFERENCES teams (tenant_id, slug),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

CREATE TABLE subjects (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id UUID,
    state TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, key),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES subjects (tenant_id, id)
);
CREATE INDEX subjects_by_kind ON subjects (tenant_id, kind, state);

CREATE TABLE records (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    subject_id UUID NOT NULL,
    number BIGINT NOT NULL,
    kind TEXT NOT NULL,
    fields TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, subject_id, number),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id)
);

CREATE TABLE blueprints (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    source TEXT NOT NULL,
    digest BYTEA NOT NULL,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id, version)
);

CREATE TABLE cases (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    number BIGINT NOT NULL,
    subject_id UUID NOT NULL,
    blueprint_id TEXT NOT NULL,
    blueprint_version BIGINT NOT NULL,
    parent_id UUID,
    owner_id UUID NOT NULL,
    exit_date TEXT NOT NULL,
    status TEXT NOT NULL,
    resolution TEXT,
    confirmation_word TEXT NOT NULL,
    stages TEXT NOT NULL,
    opened_at_us BIGINT NOT NULL,
    closed_at_us BIGINT,
    closed_by UUID,
    close_reason TEXT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number),
    FOREIGN KEY (tenant_id, subject_id) REFERENCES subjects (tenant_id, id),
    FOREIGN KEY (tenant_id, blueprint_id, blueprint_version)
        REFERENCES blueprints (tenant_id, id, version),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
-- At most one case per subject that is not done.
CREATE UNIQUE INDEX cases_one_open_per_subject ON cases (tenant_id, subject_id) WHERE status <> 'done';
CREATE INDEX cases_by_parent ON cases (tenant_id, parent_id);

CREATE TABLE tasks (
    tenant_id UUID NOT NULL,
    case_id UUID NOT NULL,
    id TEXT NOT NULL,
    stage TEXT NOT NULL,
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    kind TEXT NOT NULL,
    action TEXT,
    checklist TEXT NOT NULL,
    owner TEXT NOT NULL,
    owner_label TEXT NOT NULL,
    assignee UUID,
    depends_on TEXT NOT NULL,
    due_at_us BIGINT,
    evidence_required BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    closed_at_us BIGINT,
    closed_by UUID,
    note TEXT,
    waive_reason TEXT,
    PRIMARY KEY (tenant_id, case_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases (tenant_id, id)
);
CREATE INDEX tasks_open_by_assignee ON tasks (tenant_id, assignee) WHERE status = 'open';

CREATE TABLE findings (
    tenant_id UUID NOT NULL,
    case_id UUID NOT NULL,
    check_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    status TEXT NOT NULL,
    waived_by UUID,
    waive_reason TEXT,
    PRIMARY KEY (tenant_id, case_id, check_id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES cases (tenant_id, id)
);

CREATE TABLE evidence (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    case_id UUID NOT NULL,
    task_id TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 BYTEA NOT NULL,
    content BYTEA NOT NULL,
    added_by UUID NOT NULL,
    added_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id, task_id) REFERENCES tasks (tenant_id, case_id, id)
);

-- The audit chain. The hash covers payload_digest, not payload, so a purge can erase the
-- payload's personal data and leave the chain whole.
CREATE TABLE audit_events (
    tenant_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    at_us BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    payload TEXT,
    payload_digest BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_by_target ON audit_events (tenant_id, target_kind, target_id);

-- The last event of each tenant's chain: appends serialize on this row, and verify compares
-- the end of the walk with it, which reveals events deleted from the end.
CREATE TABLE audit_heads (
    tenant_id UUID PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
