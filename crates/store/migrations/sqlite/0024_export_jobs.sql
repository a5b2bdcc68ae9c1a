-- An export is built by a job of the queue (kind `export.build`) under the job's lease; the
-- exports' own lease, and the index its claim walked, go. Exports still waiting when this runs
-- get their job here, so an upgrade loses none; one a worker was building is built afresh.
INSERT INTO jobs (tenant_id, id, kind, payload, idempotency_key, case_id, status, attempts,
                  max_attempts, run_at_us, lease_until_us, worker, last_error, created_at_us,
                  finished_at_us)
SELECT tenant_id, randomblob(16), 'export.build', json_object('export', uuid), 'export:' || uuid,
       case_id, 'queued', 0, 8, requested_at_us, NULL, NULL, NULL, requested_at_us, NULL
FROM (SELECT tenant_id, case_id, requested_at_us,
             lower(substr(hex(id), 1, 8) || '-' || substr(hex(id), 9, 4) || '-' ||
                   substr(hex(id), 13, 4) || '-' || substr(hex(id), 17, 4) || '-' ||
                   substr(hex(id), 21, 12)) AS uuid
      FROM exports WHERE status IN ('queued', 'building'))
WHERE true
ON CONFLICT (tenant_id, idempotency_key) DO NOTHING;
DROP INDEX exports_to_build;
ALTER TABLE exports DROP COLUMN lease_until_us;
