-- When a staff user ended because the employee they were was purged: their name and email
-- are gone, they cannot sign in, and nobody can give them a password again. The row stays,
-- since the audit chain names its actors by user id.
ALTER TABLE users ADD COLUMN ended_at_us INTEGER;
