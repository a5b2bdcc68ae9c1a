-- When a case froze its subject's records: once set, the freeze holds until the case ends,
-- whatever a later precheck finds.
ALTER TABLE cases ADD COLUMN frozen_at_us INTEGER;
