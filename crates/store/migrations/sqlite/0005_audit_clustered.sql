-- Audit events stored in chain order, clustered on (tenant_id, seq): verification reads a
-- tenant's chain in exactly that order, and an append writes one b-tree instead of a table
-- and its key index.
CREATE TABLE audit_events_clustered (
    tenant_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    at_us INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    payload TEXT,
    payload_digest BLOB NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;
INSERT INTO audit_events_clustered
    SELECT tenant_id, seq, at_us, actor, action, target_kind, target_id, payload, payload_digest, hash
    FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_clustered RENAME TO audit_events;
CREATE INDEX audit_by_target ON audit_events (tenant_id, target_kind, target_id);
