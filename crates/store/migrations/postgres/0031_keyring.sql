-- Subjects' data keys live in the keyring, a store of their own (`keyring.rs`), so that a
-- backup of the database holds none. The store moves any rows left in subject_keys to the
-- keyring when it opens, and empties it; nothing writes there any more.
--
-- A purge queues its subject's key here, in the purge's own transaction; the key is shredded
-- from the keyring once that committed, and the row goes with it.
CREATE TABLE key_shreds (
    tenant_id UUID NOT NULL,
    subject_id UUID NOT NULL,
    queued_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subject_id)
);
