-- The departing client's acknowledgement of an export (when, the name they typed, from which
-- address), or the waiver that stands in for it, with who waived it and why.
ALTER TABLE exports ADD COLUMN acknowledged_at_us BIGINT;
ALTER TABLE exports ADD COLUMN acknowledged_name TEXT;
ALTER TABLE exports ADD COLUMN acknowledged_from TEXT;
ALTER TABLE exports ADD COLUMN acknowledgement_waived_by UUID;
ALTER TABLE exports ADD COLUMN acknowledgement_waiver TEXT;
