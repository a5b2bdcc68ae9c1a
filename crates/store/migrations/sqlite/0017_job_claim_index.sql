-- Workers look first for a running job whose lease ran out (its worker died), then for the
-- queued job due longest. Done and dead jobs pile up; these indexes hold only the jobs each
-- look wants, in the order it wants them, so a claim is one short ordered index walk however
-- many finished jobs the table keeps (an ordered walk also lets PostgreSQL mark the entries of
-- rows it finds changed as dead, which a bitmap scan would not).
CREATE INDEX jobs_queued ON jobs (run_at_us) WHERE status = 'queued';
CREATE INDEX jobs_leased ON jobs (lease_until_us) WHERE status = 'running';
DROP INDEX jobs_due;
