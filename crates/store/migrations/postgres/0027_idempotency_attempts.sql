-- Each attempt at a keyed request holds the key under a token of its own: an attempt whose
-- token was replaced (its process died and a resend took the key over) can no longer answer,
-- and its effect is rolled back with its answer. `applied` marks a request whose effect
-- committed before its answer did (see store/src/idempotency.rs).
ALTER TABLE idempotency_keys ADD COLUMN claim_token BIGINT NOT NULL DEFAULT 0;
ALTER TABLE idempotency_keys ADD COLUMN applied BOOLEAN NOT NULL DEFAULT FALSE;
