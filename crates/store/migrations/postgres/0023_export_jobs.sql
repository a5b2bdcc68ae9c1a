-- An export is built by a job of the queue (kind `export.build`) under the job's lease; the
-- exports' own lease, and the index its claim walked, go. Exports still waiting when this runs
-- get their job here, so an upgrade loses none; one a worker was building is built afresh.
INSERT INTO jobs (tenant_id, id, kind, payload, idempotency_key, case_id, status, attempts,
                  max_attempts, run_at_us, lease_until_us, worker, last_error, created_at_us,
                  finished_at_us)
SELECT tenant_id, gen_random_uuid(), 'export.build', json_build_object('export', id::text)::text,
       'export:' || id::text, case_id, 'queued', 0, 8, requested_at_us, NULL, NULL, NULL,
       requested_at_us, NULL
FROM exports WHERE status IN ('queued', 'building')
ON CONFLICT (tenant_id, idempotency_key) DO NOTHING;
DROP INDEX exports_to_build;
ALTER TABLE exports DROP COLUMN lease_until_us;
