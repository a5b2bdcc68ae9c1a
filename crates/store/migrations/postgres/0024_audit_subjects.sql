-- Each audit event names the subject whose personal data its payload may hold, whatever its
-- target names: the subject's export, timeline and purge find its events by this index rather
-- than by matching target names (which missed `subject.created`, named by the subject's id).
ALTER TABLE audit_events ADD COLUMN subject_id UUID;
UPDATE audit_events e SET subject_id = s.id FROM subjects s
WHERE e.target_kind = 'subject' AND s.tenant_id = e.tenant_id
  AND (s.id::text = e.target_id OR s.key = e.target_id);
UPDATE audit_events e SET subject_id = s.id FROM subjects s
WHERE e.target_kind = 'record' AND s.tenant_id = e.tenant_id
  AND s.key = split_part(e.target_id, '/', 1);
UPDATE audit_events e SET subject_id = c.subject_id FROM cases c
WHERE e.target_kind IN ('case', 'task', 'export', 'revocation') AND c.tenant_id = e.tenant_id
  AND c.number::text = split_part(e.target_id, '/', 1);
UPDATE audit_events e SET subject_id = h.subject_id FROM legal_holds h
WHERE e.target_kind = 'legal_hold' AND h.tenant_id = e.tenant_id AND h.id::text = e.target_id;
UPDATE audit_events e SET subject_id = c.subject_id FROM jobs j
JOIN cases c ON c.tenant_id = j.tenant_id AND c.id = j.case_id
WHERE e.target_kind = 'job' AND j.tenant_id = e.tenant_id AND j.id::text = e.target_id;
-- Subjects purged by earlier versions kept the payloads those versions did not find.
UPDATE audit_events e SET payload = NULL FROM subjects s
WHERE e.payload IS NOT NULL AND s.tenant_id = e.tenant_id AND s.id = e.subject_id
  AND s.state = 'purged';
CREATE INDEX audit_events_by_subject ON audit_events (tenant_id, subject_id, seq)
WHERE subject_id IS NOT NULL;
