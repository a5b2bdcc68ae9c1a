-- Each audit event names the subject whose personal data its payload may hold, whatever its
-- target names: the subject's export, timeline and purge find its events by this index rather
-- than by matching target names (which missed `subject.created`, named by the subject's id).
ALTER TABLE audit_events ADD COLUMN subject_id BLOB;
UPDATE audit_events SET subject_id = s.id FROM subjects s
WHERE audit_events.target_kind = 'subject' AND s.tenant_id = audit_events.tenant_id
  AND (s.id = unhex(replace(audit_events.target_id, '-', '')) OR s.key = audit_events.target_id);
UPDATE audit_events SET subject_id = s.id FROM subjects s
WHERE audit_events.target_kind = 'record' AND s.tenant_id = audit_events.tenant_id
  AND s.key = substr(audit_events.target_id, 1, instr(audit_events.target_id, '/') - 1);
UPDATE audit_events SET subject_id = c.subject_id FROM cases c
WHERE audit_events.target_kind IN ('case', 'task', 'export', 'revocation')
  AND c.tenant_id = audit_events.tenant_id
  AND CAST(c.number AS TEXT) = CASE WHEN instr(audit_events.target_id, '/') > 0
      THEN substr(audit_events.target_id, 1, instr(audit_events.target_id, '/') - 1)
      ELSE audit_events.target_id END;
UPDATE audit_events SET subject_id = h.subject_id FROM legal_holds h
WHERE audit_events.target_kind = 'legal_hold' AND h.tenant_id = audit_events.tenant_id
  AND h.id = unhex(replace(audit_events.target_id, '-', ''));
UPDATE audit_events SET subject_id = c.subject_id FROM jobs j, cases c
WHERE audit_events.target_kind = 'job' AND j.tenant_id = audit_events.tenant_id
  AND j.id = unhex(replace(audit_events.target_id, '-', ''))
  AND c.tenant_id = j.tenant_id AND c.id = j.case_id;
-- Subjects purged by earlier versions kept the payloads those versions did not find.
UPDATE audit_events SET payload = NULL FROM subjects s
WHERE audit_events.payload IS NOT NULL AND s.tenant_id = audit_events.tenant_id
  AND s.id = audit_events.subject_id AND s.state = 'purged';
CREATE INDEX audit_events_by_subject ON audit_events (tenant_id, subject_id, seq)
WHERE subject_id IS NOT NULL;
