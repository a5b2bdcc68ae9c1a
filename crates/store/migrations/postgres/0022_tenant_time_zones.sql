-- The time zone people added to a tenant start in; each may then choose their own.
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
